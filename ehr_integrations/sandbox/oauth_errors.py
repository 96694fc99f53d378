"""OAuth 2 error answers (RFC 6749 section 5.2 at the token endpoint, RFC 6750 at the FHIR endpoint)."""

from aiohttp import web


class OAuthError(Exception):
    """A refused token request. invalid_client is 401 (RFC 6749 5.2); the other errors are 400."""

    def __init__(self, error: str, description: str, *, status: int | None = None) -> None:
        self.error = error
        self.description = description
        self.status = status or (401 if error == "invalid_client" else 400)
        super().__init__(f"{error}: {description}")

    def response(self) -> web.Response:
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="sandbox-ehr"'
        body = {"error": self.error, "error_description": self.description}
        return web.json_response(body, status=self.status, headers=headers)


def bearer_challenge(status: int, error: str, description: str, scope: str | None = None) -> web.Response:
    """RFC 6750: 401 invalid_token for a missing, unknown or expired token; 403 insufficient_scope."""
    challenge = f'Bearer realm="sandbox-ehr", error="{error}", error_description="{description}"'
    if scope:
        challenge += f', scope="{scope}"'
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "error", "code": "security" if status == 401 else "forbidden", "diagnostics": description}
        ],
    }
    return web.json_response(
        outcome, status=status, headers={"WWW-Authenticate": challenge}, content_type="application/fhir+json"
    )

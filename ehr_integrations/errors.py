"""Typed failures of the EHR layer. Messages carry no PHI: reasons are short machine words."""


class EHRError(Exception):
    """Base class for failures talking to an EHR."""


class EHRUnavailable(EHRError):
    """The EHR (or one endpoint of it) cannot answer now: outage, timeout, 5xx, 429, open breaker."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        self.reason = reason
        self.retry_after = retry_after
        super().__init__(reason)


class EHRRequestRejected(EHRError):
    """The EHR refused the request itself (4xx other than 401/429): a configuration or query problem."""

    def __init__(self, status: int, reason: str, *, outcome_code: str | None = None) -> None:
        self.status = status
        self.reason = reason
        self.outcome_code = outcome_code  # the FHIR OperationOutcome issue code, when the answer was one
        super().__init__(f"{status} {reason}")


class EHRAuthError(EHRError):
    """The token endpoint refused our credentials (wrong aud, unknown client, scope refused...)."""

    def __init__(self, error: str, description: str = "") -> None:
        self.error = error
        self.description = description
        super().__init__(f"{error}: {description}" if description else error)

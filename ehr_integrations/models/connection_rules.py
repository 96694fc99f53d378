"""What a sound EHR connection needs, checked at save (EHRConnection.clean): the admin's forms and
config as code both call `full_clean`, so both refuse the same values with the same words, by field."""

import math
from urllib.parse import urlsplit

from ehr_integrations import address_policy
from ehr_integrations.scope_grammar import scope_errors

SECONDS = ("connect_timeout_s", "read_timeout_s", "request_deadline_s")
AT_LEAST_ONE = ("breaker_min_calls", "breaker_window_s", "breaker_open_s", "breaker_half_open_probes")
SECRET_METHODS = ("client_secret_basic", "client_secret_post")


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def limit_errors(connection: object) -> dict[str, str]:
    """Timeouts are finite and positive; the breaker's failure rate is a share in (0, 1]; its counts are >= 1."""
    errors = {}
    for name in SECONDS:
        value = getattr(connection, name, None)
        if _number(value) and not (math.isfinite(value) and value > 0):
            errors[name] = f"Must be a number of seconds greater than 0 (it is {value:g})."
    rate = getattr(connection, "breaker_failure_rate", None)
    if _number(rate) and not (0 < rate <= 1):
        errors["breaker_failure_rate"] = (
            f"Must be a share of failed calls greater than 0 and at most 1, e.g. 0.5 for half (it is {rate:g})."
        )
    for name in AT_LEAST_ONE:
        value = getattr(connection, name, None)
        if _number(value) and value < 1:
            errors[name] = f"Must be at least 1 (it is {value})."
    return errors


def auth_errors(*, auth_method: str, client_id: str, has_secret: bool, fhir_base_url: str) -> dict[str, str]:
    """Each authentication method's required fields: a client id always, a secret for the secret methods,
    and no authentication only for a sandbox on this machine."""
    errors = {}
    if not client_id.strip():
        errors["client_id"] = "Required: the client id the EHR registered for the gateway."
    if auth_method in SECRET_METHODS and not has_secret:
        errors["client_secret"] = (
            "Required for client secret authentication: the secret the EHR issued "
            "(in YAML, client_secret_env names the environment variable holding it)."
        )
    if auth_method == "none" and not _is_loopback(fhir_base_url):
        errors["auth_method"] = (
            "No authentication is allowed only for a sandbox EHR on this machine (a loopback FHIR base URL); "
            "use private key JWT or a client secret."
        )
    return errors


def _is_loopback(url: str) -> bool:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:  # a malformed URL: the URL field says so
        return False
    address = address_policy.literal_address(host) if host else None
    return address is not None and address.is_loopback


def scopes_error(scopes: str) -> dict[str, str]:
    """SMART v1/v2 grammar, system-level scopes only (SMART Backend Services)."""
    errors = scope_errors(scopes)
    return {"scopes": " ".join(errors)} if errors else {}

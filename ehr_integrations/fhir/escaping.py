"""Caller values in FHIR search parameters, escaped as the spec requires (FHIR R4 search, "Escaping").

`,` separates OR alternatives, `|` splits a token's system from its code and `$` a composite's
parts; a caller's value must never become one of those, so each is sent as `\\,`, `\\|`, `\\$`,
with `\\` itself as `\\\\`.
"""

_SPECIAL = ("\\", ",", "|", "$")  # the backslash first, so the escapes added after are not doubled


def escape(value: str) -> str:
    """One literal value for a search parameter."""
    for char in _SPECIAL:
        value = value.replace(char, "\\" + char)
    return value

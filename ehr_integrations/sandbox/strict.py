"""The strict options: what real sites do and the spec allows, switched at run time (`PUT /_control/strict`).

One running sandbox serves every combination, so tests do not start a process per option; a reset
(`POST /_control/reset`) puts every option back to its default.
"""

import dataclasses
from dataclasses import dataclass

# mrn_system=site: every MRN is rendered under this system, with no type saying it is an MRN.
SITE_MRN_SYSTEM = "urn:oid:2.16.840.1.113883.3.7777.1"
# ...and one other patient carries the `complete` patient's MRN value under this one (an account number).
DECOY_SYSTEM = "urn:oid:2.16.840.1.113883.3.7777.99"

_CHOICES: dict[str, tuple[str, ...]] = {
    "match": ("ok", "refused", "absent"),
    "scopes": ("any", "v2"),
    "post_search": ("ok", "refused"),
    "include": ("ok", "ignored", "refused"),
    "mrn_system": ("flavour", "site"),
    "writes": ("flavour", "none", "task", "communication", "both"),
    "conditional_create": ("ok", "absent"),
}


class StrictOptionError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field} {message}")


@dataclass(frozen=True)
class StrictOptions:
    """match: "refused" is 403 (the grants do not cover it), "absent" 404 and unlisted.
    scopes: "v2" advertises and grants SMART v2 scopes only. result_cap: a Patient search matching
    more patients is 400 too-costly. post_search: "refused" is 405 on POST _search. include:
    "ignored" drops `_include`, "refused" answers 400; neither lists searchInclude. mrn_system:
    "site" renders the MRN under SITE_MRN_SYSTEM, untyped, and plants a decoy under DECOY_SYSTEM."""

    match: str = "ok"
    scopes: str = "any"
    result_cap: int | None = None
    post_search: str = "ok"
    include: str = "ok"
    mrn_system: str = "flavour"
    writes: str = "flavour"  # which types POST creates: the flavour's WRITABLE, or none/task/communication/both
    conditional_create: str = "ok"  # "absent": If-None-Exist is neither advertised nor honoured

    def updated(self, changes: dict) -> "StrictOptions":
        """These options with `changes` applied; StrictOptionError names the first bad field."""
        for name, value in changes.items():
            _check(name, value)
        return dataclasses.replace(self, **changes)

    def public(self, flavour_mrn_system: str) -> dict:
        """The options, and the identifier systems in use (read-only, for tests to read)."""
        in_use = SITE_MRN_SYSTEM if self.mrn_system == "site" else flavour_mrn_system
        return {**dataclasses.asdict(self), "mrn_identifier_system": in_use, "decoy_identifier_system": DECOY_SYSTEM}


def _check(name: str, value: object) -> None:
    if name == "result_cap":
        # bool is an int to Python, not to JSON's readers.
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise StrictOptionError(name, "must be a positive integer or null")
    elif name not in _CHOICES:
        raise StrictOptionError(name, "is not a strict option")
    elif value not in _CHOICES[name]:
        raise StrictOptionError(name, f"must be one of {', '.join(_CHOICES[name])}")

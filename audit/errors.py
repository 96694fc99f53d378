"""Typed failures of the audit log. Messages carry no PHI."""


class AuditUnavailable(Exception):
    """The PHI access record could not be written: the caller must return 503 and no PHI (fail closed)."""

    def __init__(self, reason: str = "audit log unavailable") -> None:
        self.reason = reason
        super().__init__(reason)


class AuditRecordInvalid(AuditUnavailable):
    """A record was asked for with a value the log must not hold (a programming error; still fails closed)."""

"""Typed compliance refusals. Messages carry no PHI."""


class BAANotCurrent(Exception):
    """The agent client's business associate has no current BAA covering the health system: no PHI."""

    def __init__(self, reason: str = "no current business associate agreement") -> None:
        self.reason = reason
        super().__init__(reason)

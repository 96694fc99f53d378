"""What call services answer with: result values and typed refusals, rendered in calls/contract.py."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Transfer:
    name: str
    phone: str
    purpose: str

    def as_dict(self) -> dict:
        return {"name": self.name, "phone": self.phone, "purpose": self.purpose}


@dataclass(frozen=True)
class Data:
    data: object
    source: str  # "prefetch" or "live"
    say: str
    http: int = 200


@dataclass(frozen=True)
class NeedsMore:
    missing: list[str]
    attempts_left: int
    say: str
    ask: str | None = None  # the one identifier to ask for now (the first of `missing`)
    prompt: str | None = None  # the spoken question for it (calls/verification/prompts.py)


@dataclass(frozen=True)
class Verified:
    say: str


@dataclass(frozen=True)
class Pending:
    filler: str
    retry_after_ms: int


@dataclass(frozen=True)
class Routed:
    """A transfer target answer (no PHI)."""

    transfer: Transfer
    open_now: bool
    say: str


@dataclass(frozen=True)
class Ended:
    """The call was ended; everything PHI-bearing it held is gone."""


@dataclass(frozen=True)
class Confirm:
    """A write validated but not sent: read `say` back; only a second call with the id writes."""

    say: str
    confirmation_id: str
    expires_in_s: int
    data: dict


@dataclass(frozen=True)
class Refused:
    """A write the gateway will not make (an inactive or unknown medication): speak `say`."""

    reason: str
    say: str


@dataclass(frozen=True)
class Conflict:
    """A booking whose slot was taken meanwhile: nothing was booked; `data` holds fresh offers."""

    reason: str
    say: str
    data: list


Result = Data | NeedsMore | Verified | Pending | Routed | Ended | Confirm | Refused | Conflict


class CallRefusal(Exception):
    """A typed refusal; the envelope turns it into the contract's answer."""

    status = "error"
    http = 400

    def body(self) -> dict:
        return {}


@dataclass
class NotVerified(CallRefusal):
    say: str = "I need to verify your identity before I can look that up."
    status = "not_verified"
    http = 403

    def body(self) -> dict:
        return {"say": self.say}


@dataclass
class Escalate(CallRefusal):
    transfer: Transfer
    say: str
    http: int = 403
    status = "escalate"

    def body(self) -> dict:
        return {"transfer": self.transfer.as_dict(), "say": self.say}


@dataclass
class Unavailable(CallRefusal):
    reason: str
    transfer: Transfer
    say: str
    retry_after_ms: int | None = None
    status = "unavailable"
    http = 503

    def body(self) -> dict:
        return {
            "reason": self.reason,
            "transfer": self.transfer.as_dict(),
            "say": self.say,
            "retry_after_ms": self.retry_after_ms,
        }


@dataclass
class CallEnded(CallRefusal):
    status = "ended"
    http = 410


@dataclass
class InvalidInput(CallRefusal):
    errors: dict[str, str] = field(default_factory=dict)
    http = 400

    def body(self) -> dict:
        return {"errors": self.errors}


@dataclass
class ConfirmationRefused(InvalidInput):
    """A confirm with an unknown, expired or used `confirmation_id`, or with a changed body."""

    http = 409

"""Keep PHI out of log output, whichever handler writes it.

`PhiRedactionFilter` (on the configured handlers) and the record factory installed at startup
(for handlers that libraries add themselves) redact values of known PHI keys in structured
`extra` data, nested too, and patterns that look like identifiers (SSNs, dates, phone numbers,
e-mail addresses, labelled MRNs) in the message, the exception text and the stack.

Query strings are cut from every message (`/path?key=...` becomes `/path`), whichever server
wrote it (uvicorn's access and WebSocket lines, granian's access log, Daphne's runserver): an
agent key sent the deprecated way (`?key=`) or a ticket must never reach a log.

For views and services that hold identifiers in local variables, decorate with
`@sensitive_phi` (Django's sensitive_variables over PHI_VARIABLES); error reports drop all locals anyway
(compliance/error_reports.py).
"""

import logging
import re

from django.views.decorators.debug import sensitive_variables

REDACTED = "[redacted]"
PHI_KEYS = frozenset(
    {
        "date_of_birth",
        "birthdate",
        "birth_date",
        "dob",
        "ssn",
        "ssn_last4",
        "ssn_last_four",
        "last4",
        "mrn",
        "medical_record_number",
        "member_id",
        "phone",
        "phone_number",
        "caller_phone",
        "caller_number",
        "family_name",
        "given_name",
        "first_name",
        "last_name",
        "full_name",
        "patient_name",
        "name",
        "address",
        "street",
        "postal_code",
        "zip",
        "email",
        "identifiers",
    }
)
# Local variable names the views and services use for caller identifiers.
PHI_VARIABLES = tuple(sorted(PHI_KEYS | {"identifiers", "payload", "data", "body", "candidate", "patient"}))
PATTERNS = [
    # A labelled value: "ssn=123456789", "MRN: A123", "dob 1980-01-02", "last4=6789".
    re.compile(
        r"(?i)\b(ssn|mrn|dob|birth_?date|date_of_birth|last_?4|ssn_last4|member_id)\b([\s:=#\"']{1,4})[^\s,;&\"'()\[\]]+"
    ),
    re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),  # SSN
    re.compile(r"\b(19|20)\d{2}-\d{2}-\d{2}\b"),  # ISO date (birth dates)
    re.compile(r"\b\d{1,2}/\d{1,2}/(19|20)\d{2}\b"),  # US date
    re.compile(r"(?<![\w-])\+?1?[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{4}\b"),  # phone numbers
    re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),  # e-mail addresses
]
# A path followed by its query string, as servers print requests ("GET /ws/calls/…/?key=… HTTP/1.1").
QUERY_STRING = re.compile(r"(/[^\s\"'?]*)\?[^\s\"']*")
_RECORD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def redact_text(text: str) -> str:
    text = PATTERNS[0].sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    for pattern in PATTERNS[1:]:
        text = pattern.sub(REDACTED, text)
    return text


def redact_value(value: object) -> object:
    """Redact PHI keys and patterns inside nested dicts, lists and strings."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: REDACTED if str(k).lower() in PHI_KEYS else redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [redact_value(v) for v in value]
    return value


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact in place; idempotent, so the record factory and the handler filter can both run."""
    record.msg = QUERY_STRING.sub(r"\1", redact_text(record.getMessage()))
    record.args = ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact_text(record.exc_text)
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)
    for key, value in list(record.__dict__.items()):
        if key in _RECORD_ATTRS:
            continue
        record.__dict__[key] = REDACTED if key.lower() in PHI_KEYS else redact_value(value)
    return record


class PhiRedactionFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install_record_factory() -> None:
    """Redact every record at creation, so handlers added by libraries (Celery, Daphne) are covered too."""
    current = logging.getLogRecordFactory()
    if getattr(current, "phi_safe", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        return redact_record(current(*args, **kwargs))

    factory.phi_safe = True
    logging.setLogRecordFactory(factory)


sensitive_phi = sensitive_variables(*PHI_VARIABLES)

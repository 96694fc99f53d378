"""A logging filter that keeps PHI out of log output.

It redacts values of known PHI keys in structured `extra` data and patterns that look like
identifiers (SSNs, dates of birth, phone numbers) in the rendered message.
"""

import logging
import re

REDACTED = "[redacted]"
PHI_KEYS = frozenset(
    {
        "date_of_birth",
        "birthdate",
        "ssn",
        "ssn_last4",
        "mrn",
        "phone",
        "caller_phone",
        "family_name",
        "given_name",
        "name",
        "address",
        "email",
    }
)
PATTERNS = [
    re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),  # SSN
    re.compile(r"\b(19|20)\d{2}-\d{2}-\d{2}\b"),  # ISO date (birth dates)
    re.compile(r"\+?1?[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{4}\b"),  # phone numbers
]


def redact_text(text: str) -> str:
    for pattern in PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


class PhiRedactionFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact_text(message)
        record.args = ()
        for key in PHI_KEYS & set(record.__dict__):
            setattr(record, key, REDACTED)
        return True

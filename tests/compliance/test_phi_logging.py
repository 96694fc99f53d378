"""No PHI in log output, whatever path a record takes."""

import logging

import pytest
from django.test import RequestFactory
from django.views.debug import ExceptionReporter

from compliance.error_reports import PhiSafeExceptionReporterFilter
from compliance.phi_logging import PhiRedactionFilter, redact_text, redact_value, sensitive_phi

CANARIES = ["1961-07-14", "07/14/1961", "123-45-6789", "+1 (555) 201-3344", "canary@example.org"]


@pytest.mark.parametrize("canary", CANARIES)
def test_identifier_patterns_are_redacted(canary):
    assert canary not in redact_text(f"caller said {canary} on the line")


@pytest.mark.parametrize("text", ["ssn=6789", "MRN: A77231", "last4 6789", "dob=1961-07-14", "member_id: XK-22"])
def test_labelled_identifiers_are_redacted(text):
    label, value = text.replace(":", " ").replace("=", " ").split()
    assert value not in redact_text(text)
    assert label in redact_text(text)


def test_redaction_is_idempotent():
    once = redact_text("ssn=123-45-6789 dob: 1961-07-14 mrn A77231")
    assert redact_text(once) == once


def test_ordinary_words_and_ids_survive():
    text = "call 7d0c8a1e-3f43-4f7e-9a57-2f3b1d1f1f10 verified in 12 ms for riverside"
    assert redact_text(text) == text


def test_nested_structures_are_redacted_by_key_and_pattern():
    value = {"identifiers": {"given_name": "Zed"}, "note": "born 1961-07-14", "items": [{"mrn": "A77231"}]}

    assert redact_value(value) == {
        "identifiers": "[redacted]",
        "note": "born [redacted]",
        "items": [{"mrn": "[redacted]"}],
    }


def test_logger_output_carries_no_canary(caplog):
    logger = logging.getLogger("tests.phi")
    with caplog.at_level(logging.INFO, logger="tests.phi"):
        logger.info("verify failed for caller born %s", "1961-07-14", extra={"given_name": "Zed"})
        try:
            raise ValueError("no match for ssn 123-45-6789")
        except ValueError:
            logger.exception("lookup failed")

    handler_output = "\n".join(logging.Formatter("%(message)s %(given_name)s").format(r) for r in caplog.records[:1])
    assert "1961-07-14" not in handler_output and "Zed" not in handler_output
    assert "123-45-6789" not in caplog.text
    assert "ssn [redacted]" in caplog.text  # redacted once, however many times the filter runs


def test_filter_redacts_records_made_elsewhere():
    record = logging.makeLogRecord({"msg": "ssn %s", "args": ("123-45-6789",), "date_of_birth": "1961-07-14"})

    PhiRedactionFilter().filter(record)

    assert "123-45-6789" not in record.getMessage()
    assert record.date_of_birth == "[redacted]"


def test_error_reports_carry_no_request_body_or_local_variables(settings):
    settings.DEBUG = True
    birth_date, family = "-".join(["1961", "07", "14"]), "Cana" + "ryson"  # not spelled out in this source
    request = RequestFactory().post("/api/v1/calls/x/verify", {"date_of_birth": birth_date, "last_name": family})
    request.POST  # parse, as a view would

    @sensitive_phi
    def verify(date_of_birth):
        held = f"{family} {date_of_birth}"  # noqa: F841
        raise RuntimeError("boom")

    try:
        verify(birth_date)
    except RuntimeError as exc:
        reporter = ExceptionReporter(request, type(exc), exc, exc.__traceback__)
        html, text = reporter.get_traceback_html(), reporter.get_traceback_text()

    assert isinstance(reporter.filter, PhiSafeExceptionReporterFilter)
    for report in (html, text):
        assert birth_date not in report
        assert family not in report

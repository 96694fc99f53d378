"""The speakability check: every `say` and prompt for the sandbox population, in every flavour, read by
espeak-ng and held to the limits of issue 20 (prompts 6 s, tool answers 12 s, transfers 8 s), with no
all-capitals word, unit abbreviation, digit run or code. The report of the worst lines is printed on
failure and written to the temp directory (speakability-report.txt)."""

import pytest

from ehr_integrations.normalize.speakability import (
    LIMITS_S,
    Line,
    check,
    espeak_available,
    report,
    spoken_seconds,
    text_problems,
    write_report,
)
from tests.speech.sample import PATIENTS, sample

needs_espeak = pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed (.ci/system-packages)")


def test_text_rules_catch_what_a_voice_reads_badly():
    assert text_problems("Your next appointment is tomorrow at 3:30 PM with Dr. Anita Patel at the ER.") == []
    assert text_problems("You have one medication: 0.09 MG/ACTUAT Metered Dose Inhaler.") == [
        "capitals 'MG'",
        "capitals 'ACTUAT'",
        "unit abbreviation 'MG'",
        "unit abbreviation 'ACTUAT'",
        "code mark '/'",
    ]
    assert text_problems("Call us at 555-123-4567; ask for TOMAS RUIZ.")[:2] == ["capitals 'TOMAS'", "capitals 'RUIZ'"]
    assert "digit run '555-123-4567'" in text_problems("Call us at 555-123-4567.")
    assert text_problems("On Tuesday, December 10th, 2026 at 9 AM.") == []


@needs_espeak
def test_spoken_seconds_splits_one_espeak_stream_into_its_lines():
    short, longer = spoken_seconds(
        ["Thank you.", "Could you tell me the last four digits of your Social Security number?"]
    )
    assert 0.3 < short < 1.5 and 3.0 < longer < 6.0


@needs_espeak
def test_every_line_of_the_sandbox_population_is_speakable():
    lines = sample()
    assert len({line.source.split()[1] for line in lines if line.kind == "tool"}) == PATIENTS
    findings = check(lines)
    text = report(findings)
    path = write_report(text)
    print(text)
    assert all(f.seconds is not None for f in findings)
    failing = [f for f in findings if f.problems]
    assert not failing, f"{len(failing)} lines a voice cannot read (report: {path}):\n{text}"


def test_limits_are_the_ones_the_issues_agree_on():
    assert LIMITS_S == {"prompt": 6.0, "tool": 12.0, "transfer": 8.0}
    assert check([Line("prompt", "Thank you.", "x")], measure=False)[0].problems == ()

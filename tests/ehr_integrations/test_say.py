from datetime import datetime
from zoneinfo import ZoneInfo

from ehr_integrations.normalize.flat import Appointment, FlatPatient, Medication, Message
from ehr_integrations.normalize.say import say_appointments, say_medications, say_messages, say_patient

TZ = ZoneInfo("America/New_York")
NOW = datetime(2025, 11, 24, 9, 0, tzinfo=TZ)


def visit(when: str, status: str = "booked", provider: str | None = "Dr. Lily Chen", place: str | None = None):
    return Appointment("a", when, provider, place or "Riverside Family Medicine", status, "Follow-up")


def medication(name: str, remaining: int | None, eligible: bool | None, status: str = "active") -> Medication:
    return Medication("m", name, status, "1 tablet daily", "Dr. Lily Chen", remaining, "2025-11-01", eligible)


def test_next_appointment_is_spoken_in_the_health_system_time_zone():
    items = [visit("2025-12-02T20:30:00+00:00")]
    assert say_appointments(items, TZ, now=NOW) == (
        "Your next appointment is Tuesday, December 2nd at 3:30 PM with Dr. Lily Chen at Riverside Family Medicine."
    )


def test_several_appointments_name_the_next_and_count_the_rest_skipping_cancelled_ones():
    items = [
        visit("2025-11-26T14:00:00-05:00", status="cancelled"),
        visit("2025-12-01T09:00:00-05:00"),
        visit("2025-12-11T11:15:00-05:00"),
    ]
    assert say_appointments(items, TZ, now=NOW) == (
        "Your next appointment is Monday, December 1st at 9 AM with Dr. Lily Chen at Riverside Family Medicine,"
        " and you have 1 more after that."
    )


def test_tomorrow_and_next_year_are_said_plainly():
    assert say_appointments([visit("2025-11-25T08:00:00-05:00")], TZ, now=NOW).startswith(
        "Your next appointment is tomorrow at 8 AM"
    )
    assert "Friday, January 2nd, 2026 at 12 PM" in say_appointments([visit("2026-01-02T12:00:00-05:00")], TZ, now=NOW)


def test_only_a_cancelled_appointment_is_said_to_be_cancelled():
    said = say_appointments([visit("2025-12-02T15:30:00-05:00", status="cancelled")], TZ, now=NOW)
    assert said == (
        "Your appointment on Tuesday, December 2nd at 3:30 PM with Dr. Lily Chen at Riverside Family Medicine"
        " was cancelled, and I don't see any other upcoming appointments."
    )


def test_the_cancelled_list_says_what_was_cancelled_or_missed():
    cancelled = visit("2025-12-02T15:30:00-05:00", status="cancelled")
    missed = visit("2025-11-20T09:00:00-05:00", status="noshow")
    assert say_appointments([cancelled, missed], TZ, when="cancelled", now=NOW) == (
        "Your appointment on Tuesday, December 2nd at 3:30 PM with Dr. Lily Chen at Riverside Family Medicine"
        " was cancelled, and 1 other was cancelled or missed too."
    )
    assert say_appointments([missed], TZ, when="cancelled", now=NOW).endswith(" was missed.")
    assert say_appointments([], TZ, when="cancelled", now=NOW) == "I don't see any cancelled or missed appointments."


def test_a_missing_provider_is_left_out_not_invented():
    said = say_appointments([visit("2025-12-02T15:30:00-05:00", provider=None)], TZ, now=NOW)
    assert said == "Your next appointment is Tuesday, December 2nd at 3:30 PM at Riverside Family Medicine."


def test_past_appointments_and_nothing_to_report():
    said = say_appointments([visit("2025-10-02T15:30:00-04:00", status="fulfilled")], TZ, now=NOW)
    assert said.startswith("Your most recent appointment was Thursday, October 2nd at 3:30 PM")
    assert say_appointments([], TZ, now=NOW) == "I don't see any upcoming appointments."
    assert say_appointments([], TZ, when="past", now=NOW) == "I don't see any past appointments."


def test_appointments_can_be_spoken_from_their_stored_dicts():
    items = [visit("2025-12-02T20:30:00+00:00").as_dict()]
    assert say_appointments(items, TZ, now=NOW).startswith("Your next appointment is Tuesday, December 2nd at 3:30 PM")


def test_one_medication_says_its_refills():
    assert say_medications([medication("Lisinopril 10 mg tablet", 2, True)]) == (
        "You have one active medication, Lisinopril 10 mg tablet, with 2 refills left."
    )
    assert say_medications([medication("Metformin", 0, False)]) == (
        "You have one active medication, Metformin, with no refills left."
    )
    assert say_medications([medication("Metformin", None, None)]) == (
        "You have one active medication, Metformin, and I can't tell how many refills are left."
    )


def test_several_medications_say_which_can_be_refilled():
    items = [medication("Lisinopril", 2, True), medication("Metformin", 0, False), medication("Atorvastatin", 1, True)]
    assert say_medications(items) == (
        "You have 3 active medications: Lisinopril, Metformin and Atorvastatin;"
        " Lisinopril and Atorvastatin can be refilled."
    )
    assert say_medications([]) == "I don't see any active medications on your record."


def test_messages_name_the_newest_sender_day_and_subject():
    items = [
        Message("c1", "2025-11-21T10:00:00-05:00", "Dr. Lily Chen", "Lab results", "completed"),
        Message("c2", "2025-11-02T10:00:00-05:00", "Dr. Lily Chen", "Flu shot", "completed"),
    ]
    assert say_messages(items, TZ, now=NOW) == (
        "You have 2 recent messages; the newest is from Dr. Lily Chen on Friday, November 21st about Lab results."
    )
    assert say_messages(items[:1], TZ, now=NOW) == (
        "You have one recent message from Dr. Lily Chen on Friday, November 21st about Lab results."
    )
    assert say_messages([], TZ) == "I don't see any recent messages from your care team."


def test_patient_line_uses_public_fields_only():
    patient = FlatPatient("p", "Elizabeth", "Smith", "Liz", "+18165550142", "1980-01-02", "1234567", "6789")
    said = say_patient(patient)
    assert said == "I have you as Elizabeth Smith, who goes by Liz, with a phone number ending in 0142."
    assert "1980" not in said and "1234567" not in said and "6789" not in said
    assert say_patient(patient.public()) == said
    assert say_patient({}) == "I couldn't find a name on your record."


def test_refills_that_are_not_known_are_never_said_to_be_none():
    unknown = [medication("lisinopril", None, None), medication("simvastatin", None, None)]
    assert say_medications(unknown).endswith("; I can't tell right now whether they can be refilled.")
    mixed = [medication("lisinopril", 2, True), medication("simvastatin", None, None)]
    assert say_medications(mixed).endswith("; lisinopril can be refilled, and I can't tell for simvastatin.")

from datetime import datetime
from zoneinfo import ZoneInfo

from ehr_integrations.normalize.flat import Appointment, FlatPatient, Medication, Message
from ehr_integrations.normalize.say import say_appointments, say_medications, say_messages, say_patient
from ehr_integrations.normalize.spoken import natural_case, person, phone_number, spoken_list
from ehr_integrations.normalize.spoken_medicines import spoken_medicine

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
        "Your next appointment is Monday, December 1st at 9 AM with Dr. Lily Chen at Riverside Family Medicine."
        " You have one more after that."
    )


def test_tomorrow_and_next_year_are_said_plainly():
    assert say_appointments([visit("2025-11-25T08:00:00-05:00")], TZ, now=NOW).startswith(
        "Your next appointment is tomorrow at 8 AM"
    )
    assert "Friday, January 2nd at noon" in say_appointments([visit("2026-01-02T12:00:00-05:00")], TZ, now=NOW)
    assert "Thursday, July 2nd, 2026 at 9 AM" in say_appointments([visit("2026-07-02T09:00:00-04:00")], TZ, now=NOW)


def test_only_a_cancelled_appointment_is_said_to_be_cancelled():
    said = say_appointments([visit("2025-12-02T15:30:00-05:00", status="cancelled")], TZ, now=NOW)
    assert said == (
        "Your appointment on Tuesday, December 2nd at 3:30 PM with Dr. Lily Chen at Riverside Family Medicine"
        " was cancelled. I don't see any other upcoming appointments."
    )


def test_the_cancelled_list_says_what_was_cancelled_or_missed():
    cancelled = visit("2025-12-02T15:30:00-05:00", status="cancelled")
    missed = visit("2025-11-20T09:00:00-05:00", status="noshow")
    assert say_appointments([cancelled, missed], TZ, when="cancelled", now=NOW) == (
        "Your appointment on Tuesday, December 2nd at 3:30 PM with Dr. Lily Chen at Riverside Family Medicine"
        " was cancelled. I see one other cancelled or missed appointment."
    )
    assert say_appointments([missed], TZ, when="cancelled", now=NOW).endswith(" was missed.")
    assert say_appointments([], TZ, when="cancelled", now=NOW) == "I don't see any cancelled or missed appointments."


def test_a_missing_provider_is_left_out_not_invented():
    said = say_appointments([visit("2025-12-02T15:30:00-05:00", provider=None)], TZ, now=NOW)
    assert said == "Your next appointment is Tuesday, December 2nd at 3:30 PM at Riverside Family Medicine."


def test_past_appointments_and_nothing_to_report():
    said = say_appointments([visit("2025-10-02T15:30:00-04:00", status="fulfilled")], TZ, now=NOW)
    assert said == "Your last appointment was on Thursday, October 2nd with Dr. Lily Chen."
    assert say_appointments([], TZ, now=NOW) == "I don't see any upcoming appointments."
    assert say_appointments([], TZ, when="past", now=NOW) == "I don't see any past appointments."


def test_appointments_can_be_spoken_from_their_stored_dicts():
    items = [visit("2025-12-02T20:30:00+00:00").as_dict()]
    assert say_appointments(items, TZ, now=NOW).startswith("Your next appointment is Tuesday, December 2nd at 3:30 PM")


def test_one_medication_says_its_refills():
    assert say_medications([medication("Lisinopril 10 mg tablet", 2, True)]) == (
        "You have one active medication: Lisinopril 10 milligrams. It has two refills left."
    )
    assert say_medications([medication("Metformin", 0, False)]) == (
        "You have one active medication: Metformin. It has no refills left."
    )
    assert say_medications([medication("Metformin", None, None)]) == (
        "You have one active medication: Metformin. I can't tell how many refills are left."
    )


def test_several_medications_say_which_can_be_refilled():
    items = [medication("Lisinopril", 2, True), medication("Metformin", 0, False), medication("Atorvastatin", 1, True)]
    assert say_medications(items) == (
        "Your active medications are Lisinopril, Metformin, and Atorvastatin."
        " Lisinopril and Atorvastatin can be refilled."
    )
    assert say_medications([]) == "I don't see any active medications on your record."


def test_messages_name_the_newest_sender_day_and_subject():
    items = [
        Message("c1", "2025-11-21T10:00:00-05:00", "Dr. Lily Chen", "Lab results", "completed"),
        Message("c2", "2025-11-02T10:00:00-05:00", "Dr. Lily Chen", "Flu shot", "completed"),
    ]
    assert say_messages(items, TZ, now=NOW) == (
        "You have two recent messages. The newest is from Dr. Lily Chen on Friday, November 21st."
        " Its subject is Lab results."
    )
    assert say_messages(items[:1], TZ, now=NOW) == (
        "You have one recent message from Dr. Lily Chen on Friday, November 21st. Its subject is Lab results."
    )
    assert say_messages([], TZ) == "I don't see any recent messages from your care team."


def test_patient_line_uses_public_fields_only():
    patient = FlatPatient("p", "Elizabeth", "Smith", "Liz", "+18165550142", "1980-01-02", "1234567", "6789")
    said = say_patient(patient)
    assert said == (
        "I have you as Elizabeth Smith, who goes by Liz. The phone number on your record ends in zero one four two."
    )
    assert "1980" not in said and "1234567" not in said and "6789" not in said and "0142" not in said
    assert say_patient(patient.public()) == said
    assert say_patient({}) == "I couldn't find a name on your record."


def test_refills_that_are_not_known_are_never_said_to_be_none():
    unknown = [medication("lisinopril", None, None), medication("simvastatin", None, None)]
    assert say_medications(unknown).endswith(". I can't tell right now whether they can be refilled.")
    mixed = [medication("lisinopril", 2, True), medication("simvastatin", None, None)]
    assert say_medications(mixed).endswith(". Lisinopril can be refilled. I can't tell for simvastatin.")


def test_clinicians_are_introduced_as_people_say_them():
    said = say_appointments([visit("2025-12-02T15:30:00-05:00", provider="PATEL, ANITA MD")], TZ, now=NOW)
    assert "with Dr. Anita Patel at" in said
    assert person("Anita Patel, NP") == "nurse practitioner Anita Patel"
    assert person("O'BRIEN, SEAN PA-C") == "physician assistant Sean O'Brien"
    assert person("mcdonald, mary") == "Mary McDonald"
    assert (
        person("Dr. Lily Chen") == "Dr. Lily Chen"
        and person("Riverside Family Medicine") == "Riverside Family Medicine"
    )


def test_names_and_places_in_one_case_are_said_in_natural_case():
    patient = FlatPatient("p", "TOMAS", "RUIZ", None, None, None, None, None)
    assert say_patient(patient) == "I have you as Tomas Ruiz."
    assert "at Riverside Heart Center" in say_appointments(
        [visit("2025-12-02T15:30:00-05:00", place="RIVERSIDE HEART CENTER")], TZ, now=NOW
    )
    assert natural_case("van der Berg") == "van der Berg"  # mixed case is the record's own spelling


def test_medicine_names_drop_dose_form_codes_and_speak_their_units():
    spoken = {
        name: spoken_medicine(name).full
        for name in (
            "lisinopril 10 MG Oral Tablet",
            "metformin hydrochloride 500 MG Oral Tablet",
            "levothyroxine sodium 0.05 MG Oral Tablet",
            "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler",
            "omeprazole 20 MG Delayed Release Oral Capsule",
            "LISINOPRIL 10 MG PO TABS",
            "atorvastatin (LIPITOR) 20 MG tablet",
            "lisinopril 20 MG / hydrochlorothiazide 12.5 MG Oral Tablet",
            "potassium chloride 20 MEQ Extended Release Oral Tablet",
            "amlodipine 1 MG Oral Tablet",
            "tacrolimus 1 FOO Oral Capsule",
        )
    }
    assert list(spoken.values()) == [
        "lisinopril 10 milligrams",
        "metformin 500 milligrams",
        "levothyroxine 50 micrograms",
        "albuterol inhaler",
        "omeprazole delayed-release 20 milligrams",
        "lisinopril 10 milligrams",
        "atorvastatin 20 milligrams",
        "lisinopril and hydrochlorothiazide",
        "potassium chloride extended-release 20 milliequivalents",
        "amlodipine 1 milligram",
        "tacrolimus",  # a unit not known here is left out, never read as letters
    ]


def test_long_lists_name_three_then_count_the_rest_and_refills_name_one_medicine_each():
    items = [
        medication("lisinopril 10 MG Oral Tablet", 2, True),
        medication("amlodipine 5 MG Oral Tablet", 0, False),
        medication("amlodipine 2.5 MG Oral Tablet", 1, True),
        medication("sertraline 50 MG Oral Tablet", 0, False),
        medication("glipizide 5 MG Oral Tablet", 0, False),
    ]
    assert say_medications(items) == (
        "Your active medications are lisinopril 10 milligrams, amlodipine 5 milligrams,"
        " amlodipine 2.5 milligrams, and two more. Lisinopril and amlodipine 2.5 milligrams can be refilled."
    )
    assert spoken_list(["a", "b"]) == "a and b" and spoken_list(["a", "b", "c"]) == "a, b, and c"


def test_phone_numbers_are_said_in_groups_not_as_a_digit_run():
    assert phone_number("+15551234567") == "five five five, one two three, four five six seven"


def test_two_prescriptions_of_one_medicine_are_said_once():
    items = [medication("lisinopril 40 MG Oral Tablet", 2, True), medication("lisinopril 40 MG Oral Tablet", 0, False)]
    assert say_medications(items) == "You have one active medication: lisinopril 40 milligrams. It can be refilled."
    items.append(medication("nitrofurantoin 100 MG Oral Capsule", 0, False))
    assert say_medications(items) == (
        "Your active medications are lisinopril 40 milligrams and nitrofurantoin 100 milligrams."
        " Lisinopril can be refilled."
    )


def test_when_most_can_be_refilled_the_few_that_cannot_are_named():
    items = [medication(name, 1, True) for name in ("lisinopril", "atorvastatin", "sertraline")]
    items.append(medication("metformin", 0, False))
    assert say_medications(items).endswith(" All but metformin can be refilled.")

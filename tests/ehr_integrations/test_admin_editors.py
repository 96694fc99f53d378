"""Structured editors instead of JSON boxes: opening hours, factor sets, name parts and filler phrases
store the same JSON as before (and as config as code), and a bad value is refused beside its field."""

import pytest
from django.urls import reverse

from compliance.yaml_lines import YamlError
from ehr_integrations.admin.forms import HealthSystemForm
from ehr_integrations.models import HealthSystem, TransferTarget, VerificationPolicy
from ehr_integrations.setup.config_as_code import apply_text
from tests.admin_pages import form_data

WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@pytest.fixture
def engineer(client, onboarding_engineer):
    client.force_login(onboarding_engineer)
    return client


def hours_data(**days: tuple[str, str]) -> dict:
    """The hours editor's fields: hours_0/hours_1 are Monday's opening and closing time, and so on."""
    data = {f"hours_{i}": "" for i in range(14)}
    for day, (opens, closes) in days.items():
        data[f"hours_{2 * WEEK.index(day)}"], data[f"hours_{2 * WEEK.index(day) + 1}"] = opens, closes
    return data


@pytest.fixture
def target_page(engineer, health_system):
    target = TransferTarget.objects.get(health_system=health_system, purpose="scheduling")
    url = reverse("admin:ehr_integrations_transfertarget_change", args=[target.pk])
    return target, url, form_data(engineer.get(url))


def test_opening_hours_are_edited_as_times_per_day_and_stored_as_before(engineer, target_page):
    target, url, data = target_page

    response = engineer.post(url, data | hours_data(mon=("08:00", "17:00"), sat=("09:00", "12:30")))

    assert response.status_code == 302
    target.refresh_from_db()
    assert target.hours == {"mon": ["08:00", "17:00"], "sat": ["09:00", "12:30"]}
    page = engineer.get(url).content.decode()
    assert 'aria-label="Mon opens"' in page and 'value="08:00"' in page and 'aria-label="Sun closes"' in page


def test_every_day_blank_is_always_open(engineer, target_page):
    target, url, data = target_page
    target.hours = {"mon": ["08:00", "17:00"]}
    target.save()

    assert engineer.post(url, data | hours_data()).status_code == 302

    target.refresh_from_db()
    assert target.hours == {}


@pytest.mark.parametrize(
    "days,message",
    [
        ({"mon": ("17:00", "08:00")}, "hours for mon: closing time 08:00 must be after opening time 17:00"),
        ({"tue": ("08:00", "")}, "Tue: give both the opening and the closing time."),
        ({"wed": ("24:00", "25:00")}, 'hours for wed must be ["HH:MM", "HH:MM"], 24-hour times'),
    ],
    ids=["closes-before-it-opens", "half-a-day", "not-a-time"],
)
def test_bad_hours_are_refused_beside_the_hours(engineer, target_page, days, message):
    target, url, data = target_page

    response = engineer.post(url, data | hours_data(**days))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["hours"][0].startswith(message)


def test_a_phone_not_in_e164_is_refused_beside_it(engineer, target_page):
    target, url, data = target_page

    response = engineer.post(url, data | {"phone": "555-0101", "after_hours_phone": "call reception"})

    errors = response.context["adminform"].form.errors
    assert errors["phone"] == ["Must be a phone number in E.164, e.g. +15555550100 (it is '555-0101')."]
    assert errors["after_hours_phone"][0].startswith("Must be a phone number in E.164")


@pytest.fixture
def policy_page(engineer, health_system):
    policy = VerificationPolicy.objects.get(health_system=health_system)
    url = reverse("admin:ehr_integrations_verificationpolicy_change", args=[policy.pk])
    return policy, url, form_data(engineer.get(url))


def test_factor_sets_are_rows_of_checkboxes_stored_as_lists(engineer, policy_page):
    policy, url, data = policy_page
    data = {k: v for k, v in data.items() if not k.startswith("factor_sets_")}
    data |= {
        "factor_sets_0": ["mrn", "date_of_birth"],
        "factor_sets_2": ["date_of_birth", "phone", "given_name"],
        "name_parts_required": ["family_name"],
    }

    response = engineer.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    policy.refresh_from_db()
    assert policy.factor_sets == [["date_of_birth", "mrn"], ["date_of_birth", "phone", "given_name"]]
    assert policy.name_parts_required == ["family_name"]
    page = engineer.get(url).content.decode()
    assert "Way 1 to verify" in page and 'name="factor_sets_0" value="mrn"' in page


def test_the_unchanged_policy_page_saves_the_same_factor_sets(engineer, policy_page):
    policy, url, data = policy_page
    before = policy.factor_sets

    assert engineer.post(url, data).status_code == 302

    policy.refresh_from_db()
    assert policy.factor_sets == before


@pytest.mark.parametrize(
    "changes,field,message",
    [
        ({"factor_sets_0": ["date_of_birth"]}, "factor_sets", "each factor set needs date_of_birth and a second"),
        (
            {"factor_sets_0": ["date_of_birth", "ssn_last4"], "name_parts_required": []},
            "factor_sets",
            "date_of_birth + ssn_last4 could only be searched by birth date",
        ),
        ({"max_failures_per_call": "0"}, "max_failures_per_call", "Must be at least 1 (it is 0)."),
        ({"patient_window_minutes": "0"}, "patient_window_minutes", "Must be at least 1 (it is 0)."),
    ],
    ids=["no-second-factor", "birth-date-search-only", "no-attempts", "no-window"],
)
def test_a_bad_policy_is_refused_beside_its_field(engineer, policy_page, changes, field, message):
    policy, url, data = policy_page
    data = {k: v for k, v in data.items() if not k.startswith("factor_sets_")} | {
        "factor_sets_1": ["date_of_birth", "mrn"]
    }

    response = engineer.post(url, data | changes)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field][0].startswith(message)


def test_filler_phrases_are_one_per_line_and_stored_as_a_list(health_system):
    form = HealthSystemForm(instance=health_system)
    data = {name: form[name].value() for name in form.fields if form[name].value() not in (None, False)}
    data["filler_phrases"] = "One moment.\n\n  Let me look that up.  \n"

    form = HealthSystemForm(data=data, instance=health_system)

    assert form.is_valid(), form.errors
    assert form.save().filler_phrases == ["One moment.", "Let me look that up."]
    assert HealthSystemForm(instance=health_system)["filler_phrases"].value() == "One moment.\nLet me look that up."
    too_long = HealthSystemForm(data=data | {"filler_phrases": "x" * 121}, instance=health_system)
    assert too_long.errors["filler_phrases"][0].startswith("Each phrase must be at most 120 characters")


def test_the_health_system_page_shows_the_editors_not_json(engineer, health_system):
    page = engineer.get(reverse("admin:ehr_integrations_healthsystem_change", args=[health_system.pk]))

    content = page.content.decode()
    assert '<textarea name="filler_phrases"' in content
    assert 'aria-label="Mon opens"' in content and "Way 1 to verify" in content
    assert "[[&quot;date_of_birth&quot;" not in content  # the factor sets are not a JSON text box


YAML = "slug: lakeside\nname: Lakeside\nfhir_base_url: https://ehr.example.org/fhir\nconnection:\n  client_id: gw\n"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "section,path,message",
    [
        ("transfer_targets:\n  general: {name: Desk, phone: '555-0101'}\n", ("transfer_targets", "general", "phone"),
         "Must be a phone number in E.164"),
        ("transfer_targets:\n  general: {name: Desk, phone: '+15555550100', hours: {mon: ['17:00', '08:00']}}\n",
         ("transfer_targets", "general", "hours"), "hours for mon: closing time 08:00 must be after"),
        ("verification_policy:\n  name_parts_required: [middle_name]\n", ("verification_policy", "name_parts_required"),
         "Must be a list of name parts from family_name, given_name"),
        ("filler_phrases: ['']\n", ("filler_phrases",), "Must be a list of phrases"),
    ],
    ids=["phone", "hours", "name-parts", "fillers"],
)  # fmt: skip
def test_yaml_refuses_the_same_values_naming_the_field(section, path, message):
    with pytest.raises(YamlError) as error:
        apply_text(YAML + section)

    assert error.value.path == path
    assert error.value.message.startswith(message)
    assert not HealthSystem.objects.exists()

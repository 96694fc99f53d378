"""The fetchers over real HTTP against the sandbox EHR, one site per vendor flavour."""

import dataclasses
import json
from datetime import datetime

import pytest

from ehr_integrations.errors import EHRUnavailable
from ehr_integrations.fhir import records
from ehr_integrations.fhir.client import deadline_in
from ehr_integrations.fhir.site import client_for
from ehr_integrations.models import MappingRule
from ehr_integrations.normalize.mapping import load_mapping
from ehr_integrations.presets import preset
from ehr_integrations.transport import io_loop
from tests import builders
from tests.calls.conftest import wire_to_sandbox
from tests.ehr_integrations.golden import FLAVOURS, SITE_RULES

pytestmark = pytest.mark.django_db


class Site:
    """A health system of one vendor wired to that vendor's sandbox flavour."""

    def __init__(self, flavour: str, sandbox) -> None:
        self.sandbox = sandbox
        self.system = builders.health_system(
            slug=flavour.replace("_", "-"), vendor=flavour, fhir_base_url=sandbox.fhir_url
        )
        wire_to_sandbox(self.system, sandbox, client_id=f"gw-{flavour}")
        for (resource, field), expression in SITE_RULES.get(flavour, {}).items():
            MappingRule.objects.create(health_system=self.system, resource=resource, field=field, expression=expression)
        self.cases = sandbox.hard_cases()

    def fetch(self, name: str, *args, mapping=None, preset=None, **kwargs):
        deadline = deadline_in(8)
        client = client_for(self.system)
        if preset is not None:
            client.site = dataclasses.replace(client.site, preset=preset)
        mapping = mapping or load_mapping(self.system)
        return io_loop.wait(
            getattr(records, name)(client, mapping, *args, deadline=deadline, **kwargs), deadline=deadline
        )

    def appointments(self, when: str):
        tz = load_mapping(self.system).tz
        return self.fetch("fetch_appointments", self.cases["complete"], when=when, now=datetime.now(tz), tz=tz)


@pytest.fixture
def sites(db, sandbox_factory) -> dict[str, Site]:
    found = {}
    for flavour in FLAVOURS:
        sandbox = sandbox_factory(flavour=flavour)
        sandbox.reset()
        found[flavour] = Site(flavour, sandbox)
    return found


def _same_everywhere(sites: dict[str, Site], fetch):
    answers = {flavour: fetch(site) for flavour, site in sites.items()}
    assert answers["epic"] == answers["oracle_health"] == answers["generic"], answers
    return answers["epic"]


def test_the_same_patient_reads_the_same_from_every_vendor(sites):
    patient = _same_everywhere(sites, lambda s: s.fetch("fetch_patient", s.cases["complete"]).public())
    truth = next(p for p in sites["epic"].sandbox.patients() if p["id"] == sites["epic"].cases["complete"])
    assert patient == {"given_name": truth["given"], "family_name": truth["family"], "preferred_name": None,
                       "phone": truth["phone"]}  # fmt: skip


def test_upcoming_appointments_are_only_those_the_caller_is_expected_at_soonest_first(sites):
    upcoming = _same_everywhere(sites, lambda s: s.appointments("upcoming"))
    cases = sites["epic"].cases
    ids = [a.id for a in upcoming]
    assert cases["upcoming_appointment"] in ids
    assert cases["cancelled_appointment"] not in ids and cases["past_appointment"] not in ids
    assert all(a.status in ("proposed", "pending", "booked", "arrived", "checked-in", "waitlist") for a in upcoming)
    assert all(a.provider_name and a.location and a.datetime for a in upcoming)
    assert [a.datetime for a in upcoming] == sorted(a.datetime for a in upcoming)


def test_cancelled_appointments_answer_was_my_appointment_cancelled(sites):
    cancelled = _same_everywhere(sites, lambda s: s.appointments("cancelled"))
    cases = sites["epic"].cases
    assert cases["cancelled_appointment"] in [a.id for a in cancelled]
    assert cases["upcoming_appointment"] not in [a.id for a in cancelled]
    assert all(a.status in ("cancelled", "noshow") for a in cancelled)


def test_past_appointments_come_latest_first(sites):
    past = _same_everywhere(sites, lambda s: s.appointments("past"))
    assert sites["epic"].cases["past_appointment"] in [a.id for a in past]
    assert [a.datetime for a in past] == sorted((a.datetime for a in past), reverse=True)


def test_a_typical_appointment_list_is_under_one_kilobyte_of_json(sites):
    upcoming = sites["epic"].appointments("upcoming")
    size = len(json.dumps([a.as_dict() for a in upcoming]).encode())
    assert len(upcoming) >= 2 and size < 1024, size


def test_active_medications_count_refills_from_dispenses_on_every_vendor(sites):
    medications = _same_everywhere(sites, lambda s: s.fetch("fetch_medications", s.cases["complete"]))
    cases = sites["epic"].cases
    by_id = {m.id: m for m in medications}
    assert (by_id[cases["refills_left"]].refills_remaining, by_id[cases["refills_left"]].refill_eligible) == (3, True)
    assert (by_id[cases["no_refills"]].refills_remaining, by_id[cases["no_refills"]].refill_eligible) == (0, False)
    assert cases["stopped_medication"] not in by_id
    assert all(m.status == "active" and m.name and m.prescriber_name for m in medications), medications
    assert by_id[cases["refills_left"]].last_filled and by_id[cases["no_refills"]].last_filled


def test_messages_are_the_care_teams_newest_first_on_every_vendor(sites):
    messages = _same_everywhere(sites, lambda s: s.fetch("fetch_messages", s.cases["complete"], limit=5))
    assert sites["epic"].cases["message"] in [m.id for m in messages]
    assert all(m.sender and m.subject and m.sent_at for m in messages)
    assert [m.sent_at for m in messages] == sorted((m.sent_at for m in messages), reverse=True)


def _params_of(site: Site, path: str) -> list[str]:
    """The parameter names of the first search of `path`, in the query or the form body (POST _search)."""
    found = next(r for r in site.sandbox.requests() if r["path"] in (path, f"{path}/_search"))
    return found["params"] + found.get("form_params", [])


def test_each_vendor_is_searched_the_way_its_preset_says(sites):
    for site in sites.values():
        site.sandbox.reset_log()
        site.fetch("fetch_messages", site.cases["complete"])
        site.appointments("upcoming")
    assert "recipient" in _params_of(sites["oracle_health"], "/fhir/Communication")
    assert "subject" in _params_of(sites["epic"], "/fhir/Communication")
    assert "_include" in _params_of(sites["generic"], "/fhir/Appointment")
    assert "_include" not in _params_of(sites["epic"], "/fhir/Appointment")


def test_a_vendor_without_patient_message_search_says_so_instead_of_an_empty_list(sites):
    site = sites["epic"]
    unable = dataclasses.replace(preset("epic"), communication_search_param=None)
    with pytest.raises(EHRUnavailable) as refused:
        site.fetch("fetch_messages", site.cases["complete"], preset=unable)
    assert refused.value.reason == "not_supported"


def test_a_name_known_only_by_reference_is_read_once_then_served_from_the_cache(sites):
    site = sites["epic"]
    MappingRule.objects.create(
        health_system=site.system,
        resource="appointment",
        field="provider_name",
        expression="participant.actor.reference",
    )
    site.sandbox.reset_log()
    first = site.appointments("upcoming")
    reads = [r for r in site.sandbox.requests() if r["path"].startswith("/fhir/Practitioner/")]
    assert reads and all(a.provider_name for a in first)
    site.sandbox.reset_log()
    assert site.appointments("upcoming") == first
    assert not [r for r in site.sandbox.requests() if r["path"].startswith("/fhir/Practitioner/")]

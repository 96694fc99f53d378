"""Per-site scheduling rules (issue 22): the YAML's `scheduling:` section and the admin."""

from pathlib import Path

import pytest
import yaml

from compliance.yaml_lines import YamlError
from ehr_integrations.models import SchedulingRules
from ehr_integrations.presets.scheduling_rules import parse
from ehr_integrations.setup.config_as_code import apply_text, export_text

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "riverside.yaml"
RULES = {
    "callers_are": "established",
    "lead_time_hours": 4,
    "visit_types": {"follow-up": {"code": "follow-up", "label": "follow-up visit", "patients": ["established"]}},
    "providers": [{"practitioner": "pr-1", "schedule": "schedule-pr-1", "name": "Dr. Anita Patel"}],
}


def _with(section: object) -> str:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["scheduling"] = section
    return yaml.safe_dump(data, sort_keys=False)


@pytest.mark.django_db
def test_the_scheduling_section_is_applied_exported_and_applied_again_without_change():
    first = apply_text(_with(RULES))
    again = apply_text(export_text("riverside"))

    stored = SchedulingRules.objects.get(health_system__slug="riverside")
    assert stored.rules == RULES and "scheduling" in first.changed
    assert "scheduling" not in again.changed
    rules = parse(stored.rules)
    assert rules.lead_time.total_seconds() == 4 * 3600 and rules.horizon.days == 60  # the default horizon
    assert rules.bookable(rules.visit_types["follow-up"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("section", "named"),
    [
        ({"visit_types": {"follow-up": {"label": "no code"}}}, "visit_types.follow-up"),
        ({"providers": [{"practitioner": "pr-1", "name": "Dr. A"}]}, "providers.0.schedule"),
        ({"horizon_days": 900}, "horizon_days"),
        ({"callers_are": "everyone"}, "callers_are"),
        ({"shoe_size": 9}, "shoe_size"),
    ],
)
def test_a_bad_rule_is_refused_naming_it_and_nothing_is_applied(section, named):
    with pytest.raises(YamlError, match=named):
        apply_text(_with(section))
    assert not SchedulingRules.objects.exists()


@pytest.mark.django_db
def test_the_admin_shows_a_sites_scheduling_rules(admin_client):
    apply_text(_with(RULES))
    stored = SchedulingRules.objects.get()

    listing = admin_client.get("/admin/ehr_integrations/schedulingrules/")
    page = admin_client.get(f"/admin/ehr_integrations/schedulingrules/{stored.pk}/change/")

    assert listing.status_code == 200 and page.status_code == 200
    assert "Dr. Anita Patel" in page.content.decode()

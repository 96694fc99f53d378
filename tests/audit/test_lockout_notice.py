"""The compliance notice of verification lockouts and spent budgets on the audit log's changelist (issue 18)."""

from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from audit.selectors import lockouts_since
from tests.audit.factories import phi_access, phi_access_written_at

CHANGELIST = reverse("admin:audit_auditrecord_changelist")


def refused(outcome: str, **fields):
    return phi_access(outcome=outcome, action="verify", resource_types=[], resource_ids=[], **fields)


@pytest.fixture
def officer_client(client, compliance_officer):
    client.force_login(compliance_officer)
    return client


@pytest.fixture
def lockouts(db):
    phi_access(outcome="success")
    refused("wrong_details")
    phi_access_written_at(datetime.now(UTC) - timedelta(days=2), outcome="locked")  # outside the window
    return [refused("locked", patient_reference="pat-locked"), refused("budget_spent"), refused("budget_spent")]


def notice_link(response) -> str:
    notices = [str(m) for m in response.context["messages"] if "lockout" in str(m)]
    assert len(notices) == 1, notices
    return unescape(notices[0].split('href="', 1)[1].split('"', 1)[0])


def test_lockouts_and_spent_budgets_of_the_last_day_are_a_notice_linking_to_them(officer_client, lockouts):
    response = officer_client.get(CHANGELIST)

    assert "1 lockout(s) and 2 spent budget(s)" in response.content.decode()
    link = urlsplit(notice_link(response))
    listed = officer_client.get(link.path + "?" + link.query).context["cl"].result_list
    assert sorted(r.pk for r in listed) == sorted(r.pk for r in lockouts)


def test_no_lockout_in_the_last_day_no_notice(officer_client, db):
    phi_access_written_at(datetime.now(UTC) - timedelta(days=2), outcome="budget_spent")
    refused("wrong_details")

    response = officer_client.get(CHANGELIST)

    assert "lockout" not in response.content.decode()


def test_the_counts_are_one_query(lockouts, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = lockouts_since(datetime.now(UTC) - timedelta(hours=24))

    assert (found.locked, found.budget_spent) == (1, 2)

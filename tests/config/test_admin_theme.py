"""The branded admin: the landing page, human app labels, Celery's schedules for superusers only."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

BEAT = reverse("admin:django_celery_beat_periodictask_changelist")


@pytest.mark.django_db
def test_view_site_opens_a_landing_page_not_a_404(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "<h1>Voice EHR Gateway</h1>" in response.content.decode()
    assert 'href="/admin/"' in response.content.decode()


@pytest.mark.django_db
def test_the_admin_is_branded_with_human_app_labels(client, compliance_officer):
    client.force_login(compliance_officer)
    page = client.get(reverse("admin:index")).content.decode()
    assert re.search(r"<title>\s*Site administration \| Voice EHR Gateway</title>", page)
    for label in ("Health systems and EHR connections", "Business associates and BAAs", "PHI access log"):
        assert label in page


@pytest.mark.django_db
def test_signing_in_lands_on_the_admin(client, compliance_officer):
    response = client.post(reverse("admin:login"), {"username": "compliance", "password": "pw-for-tests-only"})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["onboarding_engineer", "compliance_officer"])
def test_celery_schedules_are_hidden_from_staff_who_are_not_superusers(client, request, persona):
    user = request.getfixturevalue(persona)
    # Even granted Celery's permissions, a staff member who is not a superuser is refused.
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="django_celery_beat"))
    client.force_login(user)
    assert client.get(BEAT).status_code == 403
    assert "Scheduled tasks" not in client.get(reverse("admin:index")).content.decode()


@pytest.mark.django_db
def test_a_superuser_sees_the_schedules(admin_client):
    assert admin_client.get(BEAT).status_code == 200
    assert "Scheduled tasks" in admin_client.get(reverse("admin:index")).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona,journeys", [("onboarding_engineer", ["onboarding"]), ("compliance_officer", ["onboarding", "compliance"])]
)
def test_the_index_starts_each_person_on_their_journeys(client, request, persona, journeys):
    client.force_login(request.getfixturevalue(persona))
    page = client.get(reverse("admin:index")).content.decode()
    assert re.findall(r'data-journey="(\w+)"', page) == journeys

"""Sessions, the user, messages and django-auditlog's actor run for staff pages only (config/staff_stack.py)."""

import pytest
from auditlog.middleware import AuditlogMiddleware
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.test import Client

pytestmark = pytest.mark.django_db
STAFF_HOOKS = ((SessionMiddleware, "process_request"), (AuthenticationMiddleware, "process_request"),
               (MessageMiddleware, "process_request"), (AuditlogMiddleware, "__call__"))  # fmt: skip


@pytest.fixture
def staff_middleware_refuses(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("a staff middleware ran")

    for owner, name in STAFF_HOOKS:
        monkeypatch.setattr(owner, name, refuse)


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/tools", "/api/v1/calls"])
def test_an_agent_path_runs_none_of_them(client, staff_middleware_refuses, path):
    response = client.get(path)
    assert response.status_code in (200, 401, 403, 405)
    assert response["Content-Type"].startswith("application/json")
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies


def test_a_staff_page_still_runs_them(client, staff_middleware_refuses):
    with pytest.raises(AssertionError, match="a staff middleware ran"):
        client.get("/admin/login/")


def test_a_staff_post_without_its_csrf_token_is_still_refused():
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/admin/login/", {"username": "x", "password": "y"}).status_code == 403
    page = strict.get("/admin/login/")
    token = page.cookies["csrftoken"].value
    answered = strict.post("/admin/login/", {"username": "x", "password": "y", "csrfmiddlewaretoken": token})
    assert answered.status_code == 200  # the form again, with its error: the check passed


def test_an_agent_post_needs_no_csrf_token():
    strict = Client(enforce_csrf_checks=True)
    answered = strict.post("/api/v1/calls", {}, content_type="application/json")
    assert answered.status_code == 401  # refused for its missing key, not for CSRF

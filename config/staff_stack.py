"""Sessions, the Django user, messages and django-auditlog's actor: for staff pages only.

The agent API (`AGENT_PATHS`) authenticates every request by its API key (DRF), keeps no session,
takes no form post (its views are CSRF-exempt), shows no message and has no Django user. These
middlewares did nothing for it but cost ~35 us a request in process (issue 24), and one of them did
worse: django-auditlog's connects a pre_save receiver at the start of every request and disconnects
it at the end; each connect and disconnect takes the signal's lock and empties its receiver cache,
so every model save of every other request looked its receivers up again under that lock. Under
load the request threads queued there (a py-spy dump at 25 calls a second: 25 of 64 threads in
Signal.connect, disconnect or _live_receivers). The agent API changes no model django-auditlog
tracks (AUDITLOG_INCLUDE_TRACKING_MODELS); its PHI accesses are audited by audit/records.py.

Each is Django's (or django-auditlog's) own class with `StaffOnly` in front: on an agent path it
passes the request straight on. Subclasses, so the admin's system checks still find sessions, the
user and messages in MIDDLEWARE. CSRF's middleware stays as it is for every path (the deployment
check looks for it by name; on the agent's CSRF-exempt views it costs next to nothing).
"""

from collections.abc import Callable

from auditlog.middleware import AuditlogMiddleware
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse

AGENT_PATHS = ("/api/v1/", "/mcp", "/ws/", "/healthz", "/readyz")


def agent_path(request: HttpRequest) -> bool:
    return request.path_info.startswith(AGENT_PATHS)


class StaffOnly:
    get_response: Callable

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if agent_path(request):
            return self.get_response(request)
        return super().__call__(request)


class StaffSessions(StaffOnly, SessionMiddleware):
    pass


class StaffUser(StaffOnly, AuthenticationMiddleware):
    pass


class StaffMessages(StaffOnly, MessageMiddleware):
    pass


class StaffAuditlog(StaffOnly, AuditlogMiddleware):
    pass

"""django-auditlog's actor context for staff pages only, never for the agent API.

AuditlogMiddleware connects a pre_save receiver at the start of every request and disconnects it at
the end; each connect and disconnect takes the signal's lock and empties its receiver cache, so
every model save of every other request then looked its receivers up again under that lock. Under
load the request threads queued there (a py-spy dump at 25 calls a second: 25 of 64 threads in
Signal.connect, disconnect or _live_receivers; issue 24). The agent API has no Django user to name
as the actor and changes no model django-auditlog tracks (configuration: AUDITLOG_INCLUDE_TRACKING_MODELS);
its PHI accesses are audited by audit/records.py. Staff pages keep the actor and address.
"""

from auditlog.middleware import AuditlogMiddleware
from django.http import HttpRequest, HttpResponse

AGENT_PATHS = ("/api/", "/mcp", "/ws/", "/healthz", "/readyz")


class StaffAuditlogMiddleware(AuditlogMiddleware):
    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(AGENT_PATHS):
            return self.get_response(request)
        return super().__call__(request)

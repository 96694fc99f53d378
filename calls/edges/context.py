"""The AuditContext of a REST request: the one place a view's request becomes what the audit needs."""

from rest_framework.request import Request

from calls.session.access_log import AuditContext


def rest_context(request: Request, channel: str = "rest") -> AuditContext:
    return AuditContext.of(
        channel=channel,
        correlation_id=request.headers.get("X-Correlation-ID", ""),
        source_address=request.META.get("REMOTE_ADDR"),
    )

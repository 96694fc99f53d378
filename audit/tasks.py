"""Beat-driven upkeep of the PHI access log. Tasks take no arguments and are safe to run twice."""

from celery import shared_task

from audit import digests, retention, sealing


@shared_task(ignore_result=True)
def seal_audit_log() -> int:
    return sealing.seal_pending()


@shared_task(ignore_result=True)
def export_audit_digest() -> str | None:
    path = digests.export_digest()
    return path.name if path else None


@shared_task(ignore_result=True)
def purge_expired_audit_records() -> str:
    return retention.purge_expired(requested_by="beat:purge_expired_audit_records").outcome

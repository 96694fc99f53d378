"""Printable reports: HTML laid out as a PDF by WeasyPrint (Pango underneath: .ci/system-packages)."""


def render(html: str) -> bytes:
    """The PDF of a self-contained HTML page (inline styles): it fetches nothing, so nothing leaks by URL."""
    # Imported here: WeasyPrint loads Pango when imported, and a process that never prints a report
    # (a Celery worker, the agent API) should neither pay for that nor fail to start without it.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=set())).write_pdf()

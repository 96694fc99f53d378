"""Printable reports: HTML laid out as a PDF by WeasyPrint (Pango underneath: .ci/system-packages)."""


def render(html: str) -> bytes:
    """The PDF of a self-contained HTML page (inline styles; it fetches nothing)."""
    # Imported here: WeasyPrint loads Pango when imported, and a process that never prints a report
    # (a Celery worker, the agent API) should neither pay for that nor fail to start without it.
    from weasyprint import HTML

    return HTML(string=html, url_fetcher=_no_fetching).write_pdf()


def _no_fetching(url: str, *args: object, **kwargs: object) -> dict:
    # A report is rendered from our own template alone: nothing is fetched, so nothing can leak by URL.
    raise ValueError(f"report PDFs fetch nothing ({url[:40]})")

"""The page at "/": what this service is and where its people go (the admin's "View site")."""

from django.http import HttpRequest
from django.template.response import TemplateResponse


def landing(request: HttpRequest) -> TemplateResponse:
    return TemplateResponse(request, "landing/index.html", {})

"""Public endpoints of ehr_integrations: the JWKS every EHR fetches our assertion keys from."""

from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from ehr_integrations.auth import signing_keys
from ehr_integrations.models import HealthSystem


@require_GET
def jwks(request: HttpRequest, slug: str) -> JsonResponse:
    """Published, signing and retiring public keys (never a private part); EHRs cache it for max-age."""
    system = HealthSystem.objects.filter(slug=slug).first()
    if system is None:
        raise Http404("health_system")  # the 404 envelope names it (config/errors.py)
    response = JsonResponse(signing_keys.jwks(system), content_type="application/json")
    response["Cache-Control"] = f"public, max-age={settings.JWKS_MAX_AGE_S}"
    return response

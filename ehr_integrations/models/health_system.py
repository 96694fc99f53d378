import re
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from ehr_integrations import address_policy
from ehr_integrations.presets.write_settings import validate_write_settings


class Vendor(models.TextChoices):
    EPIC = "epic", "Epic"
    ORACLE_HEALTH = "oracle_health", "Oracle Health (Cerner)"
    GENERIC = "generic", "Generic FHIR R4"


def validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone")


# A DNS name: dot-separated labels of letters, digits and inner hyphens (how URL hosts are compared).
HOST_NAME = re.compile(
    r"^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.?$"
)
FILLER_MAX_CHARS = 120  # a filler is spoken while a lookup runs: a short phrase, not a speech


def filler_phrases_error(value: object) -> str | None:
    """Fillers are a list of short, non-empty phrases; None when they are."""
    if not isinstance(value, list) or not all(isinstance(p, str) and p.strip() for p in value):
        return "Must be a list of phrases, each with some words in it."
    if long := [p for p in value if len(p) > FILLER_MAX_CHARS]:
        return f"Each phrase must be at most {FILLER_MAX_CHARS} characters; this one is {len(long[0])}: {long[0][:40]}…"
    return None


class HealthSystem(models.Model):
    slug = models.SlugField(unique=True, validators=[RegexValidator(r"^[a-z0-9-]+$")])
    name = models.CharField(max_length=200)
    vendor = models.CharField(max_length=20, choices=Vendor.choices, default=Vendor.GENERIC)
    time_zone = models.CharField(max_length=64, default="America/New_York", validators=[validate_time_zone])
    fhir_base_url = models.URLField(max_length=500, help_text="FHIR R4 base, e.g. https://fhir.example.org/api/FHIR/R4")
    extra_allowed_hosts = models.CharField(
        max_length=500,
        blank=True,
        help_text="Space-separated hosts besides the FHIR base and token URL hosts that the gateway may call.",
    )
    filler_phrases = models.JSONField(
        default=list,
        blank=True,
        help_text="Phrases the agent can speak while a slow lookup runs; empty uses the built-in set.",
    )
    write_settings = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "Refill and message settings (the YAML's writes: section): task_owner, message_recipient, turnaround,"
            " message_topics, controlled_ingredients, excluded_medications, urgent_words. Empty: the defaults."
        ),
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The EHR address policy at save (address_policy.py): the URL's text and the confirmed hosts."""
        errors = address_policy.ehr_url_errors(fhir_base_url=self.fhir_base_url)
        hosts = self.extra_allowed_hosts.split()
        refused = [r for h in hosts if (r := address_policy.host_refusal(h))]
        if not_hosts := [h for h in hosts if not HOST_NAME.match(h) and address_policy.literal_address(h) is None]:
            errors["extra_allowed_hosts"] = (
                f"Not a host name: {not_hosts[0]} (write the host alone, e.g. auth.example.org, "
                "without https:// or a path; separate hosts with spaces)."
            )
        elif refused:
            errors["extra_allowed_hosts"] = f"{address_policy.RULE}: {refused[0]} ({address_policy.HINT})."
        try:
            validate_write_settings(self.write_settings)
        except ValidationError as exc:
            errors["write_settings"] = exc.messages[0]
        if message := filler_phrases_error(self.filler_phrases):
            errors["filler_phrases"] = message
        if errors:
            raise ValidationError(errors)

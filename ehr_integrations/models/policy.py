import re

from django.core.exceptions import ValidationError
from django.db import models

from ehr_integrations.models.health_system import HealthSystem

IDENTIFIERS = ("date_of_birth", "ssn_last4", "mrn", "phone", "family_name", "given_name")
SECOND_FACTORS = ("ssn_last4", "mrn", "phone")
# What narrows a patient search besides the birth date (an SSN is never searched: it is compared).
SEARCHABLE = ("mrn", "phone", "family_name", "given_name")


DEFAULT_MRN_PATTERN = r"^[A-Za-z0-9-]{1,20}$"


def validate_mrn_pattern(value: str) -> None:
    """The site's MRN shape must be a regular expression; it is matched against the whole MRN."""
    try:
        re.compile(value)
    except re.error as exc:
        raise ValidationError(f"not a regular expression: {exc}") from None


def default_factor_sets() -> list[list[str]]:
    return [["date_of_birth", "ssn_last4", "family_name"], ["date_of_birth", "mrn"]]


def validate_factor_sets(value: object) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("factor_sets must be a non-empty list of identifier lists")
    for factor_set in value:
        if not isinstance(factor_set, list) or not factor_set:
            raise ValidationError("each factor set must be a non-empty list")
        unknown = [f for f in factor_set if f not in IDENTIFIERS]
        if unknown:
            raise ValidationError(f"unknown identifier(s) {unknown}; use {list(IDENTIFIERS)}")
        if "date_of_birth" not in factor_set or not any(f in SECOND_FACTORS for f in factor_set):
            raise ValidationError("each factor set needs date_of_birth and a second factor (ssn_last4, mrn or phone)")


NAME_PARTS = ("family_name", "given_name")
# A limit of 0 would escalate or lock out before anyone could try; a window of 0 would count nothing.
AT_LEAST_ONE = (
    "max_failures_per_call",
    "max_failures_per_caller_hour",
    "max_failures_per_patient",
    "patient_window_minutes",
    "patient_lockout_minutes",
)


def policy_limit_errors(policy: object) -> dict[str, str]:
    errors = {}
    parts = getattr(policy, "name_parts_required", None)
    if not (isinstance(parts, list) and all(p in NAME_PARTS for p in parts)):
        errors["name_parts_required"] = f"Must be a list of name parts from {', '.join(NAME_PARTS)} (or empty)."
    for name in AT_LEAST_ONE:
        value = getattr(policy, name, None)
        if isinstance(value, int) and value < 1:
            errors[name] = f"Must be at least 1 (it is {value})."
    return errors


class VerificationPolicy(models.Model):
    """Which identifier sets verify a caller at this health system, and the attempt limits."""

    health_system = models.OneToOneField(HealthSystem, on_delete=models.CASCADE, related_name="verification_policy")
    factor_sets = models.JSONField(default=default_factor_sets, validators=[validate_factor_sets])
    name_parts_required = models.JSONField(
        default=list,
        blank=True,
        help_text='Name parts the vendor\'s patient search needs, e.g. ["family_name", "given_name"].',
    )
    max_failures_per_call = models.PositiveSmallIntegerField(default=3)
    max_failures_per_caller_hour = models.PositiveSmallIntegerField(default=10)
    max_failures_per_patient = models.PositiveSmallIntegerField(default=5)
    patient_window_minutes = models.PositiveSmallIntegerField(default=15)
    patient_lockout_minutes = models.PositiveSmallIntegerField(default=60)
    mrn_pattern = models.CharField(
        max_length=200,
        default=DEFAULT_MRN_PATTERN,
        validators=[validate_mrn_pattern],
        help_text="A regular expression every MRN a caller gives must match as a whole (Python syntax); "
        "anything else is refused before the EHR is asked.",
    )

    class Meta:
        verbose_name_plural = "verification policies"

    def __str__(self) -> str:
        return f"Verification policy of {self.health_system}"

    def clean(self) -> None:
        """A factor set the EHR could search by birth date alone is refused: that search names every
        patient born that day (issue 16). A name part (in the set or always asked) or the phone narrows it."""
        if errors := policy_limit_errors(self):
            raise ValidationError(errors)
        asked = set(self.name_parts_required or [])
        for factor_set in self.factor_sets if isinstance(self.factor_sets, list) else []:
            if isinstance(factor_set, list) and not (set(factor_set) | asked) & set(SEARCHABLE):
                raise ValidationError(
                    {
                        "factor_sets": f"{' + '.join(factor_set)} could only be searched by birth date, which names "
                        "every patient born that day: add family_name, given_name or phone to it (or to the "
                        "name parts always asked for)"
                    }
                )

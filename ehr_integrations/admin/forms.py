from django import forms

from ehr_integrations.admin.editors import FactorSetsField, HoursField, InlineCheckboxes, PhrasesField
from ehr_integrations.auth.scopes import coverage_gaps
from ehr_integrations.models import EHRConnection, HealthSystem, TransferTarget, VerificationPolicy
from ehr_integrations.models.policy import NAME_PARTS
from ehr_integrations.scope_grammar import scope_errors
from ehr_integrations.setup.config_as_code import POLICY_FIELDS, TARGET_FIELDS, TOP_FIELDS


class EHRConnectionForm(forms.ModelForm):
    """The client secret is write-only: typed in, encrypted, never rendered back."""

    client_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Leave blank to keep the stored secret.",
    )
    clear_client_secret = forms.BooleanField(required=False, help_text="Remove the stored secret.")

    class Meta:
        model = EHRConnection
        fields = [
            "health_system",
            "auth_method",
            "client_id",
            "signing_algorithm",
            "scopes",
            "token_url",
            "scheduling_stu3_base_url",
            "connect_timeout_s",
            "read_timeout_s",
            "request_deadline_s",
            "max_retries",
            "breaker_failure_rate",
            "breaker_min_calls",
            "breaker_window_s",
            "breaker_open_s",
            "breaker_half_open_probes",
            "capability_overrides",
        ]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if "scopes" in self.fields:  # not for someone who may only view the connection
            scopes = self["scopes"]  # the bound field copies its help text when made, so set both
            scopes.help_text = self.fields["scopes"].help_text = scope_help(scopes.value() or "")

    def clean(self) -> dict:
        """The typed secret reaches the connection before the model's checks, which need to know one is set."""
        cleaned = super().clean()
        if cleaned.get("clear_client_secret"):
            self.instance.set_client_secret("")
        elif cleaned.get("client_secret"):
            self.instance.set_client_secret(cleaned["client_secret"])
        return cleaned


def scope_help(value: str) -> str:
    """Beside the scopes, before saving: what the tools need that these scopes leave out (a warning; the
    grammar is checked at save). The connection page lists the same after Test connection, with the grant."""
    base = EHRConnection._meta.get_field("scopes").help_text
    gaps = [str(gap) for gap in coverage_gaps(value.split())] if not scope_errors(value) else []
    if not gaps:
        return f"{base} These scopes cover every tool."
    return f"{base} Not covered: {'; '.join(gaps)}."


class HealthSystemForm(forms.ModelForm):
    """The filler phrases one per line instead of a JSON list."""

    filler_phrases = PhrasesField(label="Filler phrases")

    class Meta:
        model = HealthSystem
        fields = [*TOP_FIELDS, "write_settings"]  # the fields config as code sets


class VerificationPolicyForm(forms.ModelForm):
    """Factor sets as rows of identifier checkboxes, the name parts as checkboxes."""

    name_parts_required = forms.MultipleChoiceField(
        choices=[(p, p.replace("_", " ")) for p in NAME_PARTS],
        widget=InlineCheckboxes,
        required=False,
        help_text="Name parts always asked for, whatever the factor set (the vendor's patient search may need them).",
    )

    class Meta:
        model = VerificationPolicy
        fields = ["health_system", *POLICY_FIELDS]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        existing = self.instance.factor_sets if isinstance(self.instance.factor_sets, list) else []
        # One spare row beyond the sets there are, at least four rows in all.
        self.fields["factor_sets"] = FactorSetsField(rows=max(4, len(existing) + 1), label="Factor sets")


class TransferTargetForm(forms.ModelForm):
    """Opening hours as a time pair per weekday."""

    hours = HoursField(label="Opening hours")

    class Meta:
        model = TransferTarget
        fields = ["health_system", "purpose", *TARGET_FIELDS]

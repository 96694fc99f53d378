from django import forms

from ehr_integrations.models import EHRConnection


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

    def clean(self) -> dict:
        """The typed secret reaches the connection before the model's checks, which need to know one is set."""
        cleaned = super().clean()
        if cleaned.get("clear_client_secret"):
            self.instance.set_client_secret("")
        elif cleaned.get("client_secret"):
            self.instance.set_client_secret(cleaned["client_secret"])
        return cleaned

"""Structured editors for the JSON fields an engineer edits: opening hours, factor sets, phrases.

Each is a form field over the same JSON the model stores (and config as code writes), so the
model's own validators still decide; the editor only spares people from typing JSON.
"""

from django import forms
from unfold.widgets import BASE_CLASSES, CHECKBOX_CLASSES, UnfoldAdminTextareaWidget

from ehr_integrations.models.policy import IDENTIFIERS
from ehr_integrations.models.transfer import WEEKDAYS

DAY_NAMES = dict(zip(WEEKDAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))
IDENTIFIER_LABELS = {
    "date_of_birth": "date of birth",
    "ssn_last4": "SSN last 4",
    "mrn": "MRN",
    "phone": "phone",
    "family_name": "family name",
    "given_name": "given name",
}


class InlineCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes side by side, each with its label, in the admin theme's look."""

    template_name = "ehr_integrations/widgets/inline_checkboxes.html"

    def get_context(self, name: str, value: object, attrs: dict | None) -> dict:
        context = super().get_context(name, value, attrs)
        context["checkbox_class"] = " ".join(CHECKBOX_CLASSES)
        return context


class HoursWidget(forms.MultiWidget):
    """Open and close time for each weekday; a day left blank is closed, all blank is always open."""

    template_name = "ehr_integrations/widgets/hours.html"

    def __init__(self, attrs: dict | None = None) -> None:
        # The admin theme's input look, sized for a time (the transfer targets are a table).
        look = {"type": "time", "class": " ".join([*BASE_CLASSES, "px-2", "py-1"]), "style": "width: 7.5rem"}
        time = forms.TimeInput(attrs=look, format="%H:%M")
        super().__init__([time] * (2 * len(WEEKDAYS)), attrs)

    def decompress(self, value: object) -> list[str | None]:
        hours = value if isinstance(value, dict) else {}
        spans = [hours.get(day) if isinstance(hours.get(day), list) else [None, None] for day in WEEKDAYS]
        return [time for span in spans for time in (list(span) + [None, None])[:2]]

    def get_context(self, name: str, value: object, attrs: dict | None) -> dict:
        context = super().get_context(name, value, attrs)
        subwidgets = context["widget"]["subwidgets"]
        for i, day in enumerate(WEEKDAYS):
            subwidgets[2 * i]["attrs"]["aria-label"] = f"{DAY_NAMES[day]} opens"
            subwidgets[2 * i + 1]["attrs"]["aria-label"] = f"{DAY_NAMES[day]} closes"
        context["days"] = [(DAY_NAMES[day], subwidgets[2 * i], subwidgets[2 * i + 1]) for i, day in enumerate(WEEKDAYS)]
        return context


class HoursField(forms.MultiValueField):
    """Stores {"mon": ["08:00", "17:00"], ...} (transfer.validate_hours checks it)."""

    widget = HoursWidget

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("help_text", "Blank every day: always open. Otherwise a blank day is closed (24-hour times).")
        time = forms.RegexField(regex=r"^\d\d:\d\d$", required=False, error_messages={"invalid": "Use HH:MM."})
        super().__init__(fields=[time] * (2 * len(WEEKDAYS)), require_all_fields=False, required=False, **kwargs)

    def compress(self, data_list: list[str | None]) -> dict[str, list[str]]:
        hours: dict[str, list[str]] = {}
        for i, day in enumerate(WEEKDAYS):
            opens, closes = (data_list[2 * i : 2 * i + 2] + [None, None])[:2] if data_list else (None, None)
            if opens or closes:
                if not (opens and closes):
                    raise forms.ValidationError(f"{DAY_NAMES[day]}: give both the opening and the closing time.")
                hours[day] = [opens, closes]
        return hours


class FactorSetsWidget(forms.MultiWidget):
    """One row of identifier checkboxes per factor set."""

    template_name = "ehr_integrations/widgets/factor_sets.html"

    def __init__(self, rows: int, attrs: dict | None = None) -> None:
        choices = [(i, IDENTIFIER_LABELS[i]) for i in IDENTIFIERS]
        super().__init__([forms.CheckboxSelectMultiple(choices=choices) for _ in range(rows)], attrs)

    def decompress(self, value: object) -> list[list[str]]:
        sets = [s for s in value if isinstance(s, list)] if isinstance(value, list) else []
        return (sets + [[]] * len(self.widgets))[: len(self.widgets)]

    def get_context(self, name: str, value: object, attrs: dict | None) -> dict:
        """A grid: a row per factor set, a column per identifier, so every set reads across."""
        context = super().get_context(name, value, attrs)
        context["labels"] = [IDENTIFIER_LABELS[i] for i in IDENTIFIERS]
        context["checkbox_class"] = " ".join(CHECKBOX_CLASSES)
        context["rows"] = [
            (number, [option for _, options, _ in row["optgroups"] for option in options])
            for number, row in enumerate(context["widget"]["subwidgets"], start=1)
        ]
        return context


class FactorSetsField(forms.MultiValueField):
    """Stores [["date_of_birth", "mrn"], ...] (policy.validate_factor_sets and the policy's clean check it)."""

    def __init__(self, rows: int = 4, **kwargs: object) -> None:
        kwargs.setdefault(
            "help_text",
            "Each row is one way to verify a caller: tick the identifiers it needs "
            "(date of birth and one of SSN last 4, MRN or phone). Leave a row empty to drop it.",
        )
        choices = [(i, IDENTIFIER_LABELS[i]) for i in IDENTIFIERS]
        fields = [forms.MultipleChoiceField(choices=choices, required=False) for _ in range(rows)]
        super().__init__(fields=fields, widget=FactorSetsWidget(rows), require_all_fields=False, **kwargs)

    def compress(self, data_list: list[list[str]]) -> list[list[str]]:
        rows = [row for row in data_list or [] if row]
        return [[i for i in IDENTIFIERS if i in row] for row in rows]  # in one order, so a re-save changes nothing


class PhrasesField(forms.CharField):
    """A list of phrases, one per line (HealthSystem.filler_phrases)."""

    widget = UnfoldAdminTextareaWidget(attrs={"rows": 4})

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("help_text", "One phrase per line; none uses the built-in set.")
        super().__init__(required=False, **kwargs)

    def prepare_value(self, value: object) -> str:
        if isinstance(value, list):
            return "\n".join(str(p) for p in value)
        return "" if value is None else str(value)

    def to_python(self, value: object) -> list[str]:
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]

    def has_changed(self, initial: object, data: object) -> bool:
        return self.to_python(self.prepare_value(initial)) != self.to_python(data)

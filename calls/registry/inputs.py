"""A tool's inputs, declared once: from them come its validation (a DRF serializer) and its JSON Schema.

Every edge validates with the same serializer: REST query strings and bodies, MCP and webhook
arguments. Bodies and function arguments refuse unknown fields (naming them); a query string may
carry other parameters, which are ignored.
"""

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from rest_framework import serializers

from ehr_integrations.identity import normalize_phone

# "name": a person's name (letters, spaces, hyphens, apostrophes, periods; NFC); "phone": a possible number.
Kind = Literal["string", "integer", "date", "choice", "name", "phone", "boolean"]
Value = str | int | date | bool
NAME_PUNCTUATION = frozenset(" -'\u2019.")  # U+2019 is the apostrophe phones type; "St. John", "St.John"


class PatternField(serializers.CharField):
    """Text that matches a regular expression as a whole: no white space trimmed, and no trailing
    newline let through (Python's `$` matches before one; DRF's RegexField searches with it)."""

    default_error_messages = {"invalid": "has an invalid format"}

    def __init__(self, pattern: str, **options: object) -> None:
        super().__init__(trim_whitespace=False, **options)
        self.pattern = re.compile(pattern)

    def to_internal_value(self, data: object) -> str:
        value = super().to_internal_value(data)
        if not self.pattern.fullmatch(value):
            self.fail("invalid")
        return value


class NameField(serializers.CharField):
    """A person's name part: Unicode letters (with their combining marks), spaces, hyphens and
    apostrophes, at least one letter; NFC-normalised, so one name has one spelling."""

    default_error_messages = {"invalid": "must be letters, spaces, hyphens, apostrophes or periods"}

    def to_internal_value(self, data: object) -> str:
        value = unicodedata.normalize("NFC", super().to_internal_value(data))
        if not _is_name(value):
            self.fail("invalid")
        return value


def _is_name(value: str) -> bool:
    letters = [unicodedata.category(ch)[0] for ch in value if ch not in NAME_PUNCTUATION]
    return bool(letters) and letters[0] == "L" and set(letters) <= {"L", "M"} and value[0] not in NAME_PUNCTUATION


class PhoneField(serializers.CharField):
    """A phone number as a caller says it that could be a real one (libphonenumber's possible-number check)."""

    default_error_messages = {"invalid": "must be a phone number"}

    def to_internal_value(self, data: object) -> str:
        value = super().to_internal_value(data)
        if normalize_phone(value) is None:
            self.fail("invalid")
        return value


class DateField(serializers.DateField):
    """A YYYY-MM-DD date, not before `earliest` when one is given."""

    def __init__(self, earliest: date | None = None, **options: object) -> None:
        super().__init__(input_formats=["%Y-%m-%d"], **options)
        self.earliest = earliest

    def to_internal_value(self, data: object) -> date:
        value = super().to_internal_value(data)
        if self.earliest is not None and value < self.earliest:
            raise serializers.ValidationError(f"must not be before {self.earliest.isoformat()}")
        return value


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean, nothing else (DRF's BooleanField also takes "yes", "1" and 1)."""

    def to_internal_value(self, data: object) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


@dataclass(frozen=True)
class Input:
    name: str
    kind: Kind
    description: str = ""
    required: bool = False
    default: Value | None = None
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    invalid: str = ""  # the message for a value that does not match the pattern or range
    earliest: date | None = None  # a date input: the first date accepted
    ask: bool = False  # listed as required in the JSON Schema, so an LLM always names it (it has a default)

    def field(self) -> serializers.Field:
        """The DRF field that validates this input."""
        options: dict[str, object] = {"required": self.required, "help_text": self.description or None}
        if self.default is not None:
            options["default"] = self.default
        messages = {"invalid": self.invalid} if self.invalid else {}
        if self.kind == "choice":
            listed = ", ".join(self.choices)
            messages["invalid_choice"] = self.invalid or f"must be one of {listed}"
            return serializers.ChoiceField(choices=list(self.choices), error_messages=messages, **options)
        if self.kind == "integer":
            if self.minimum is not None and self.maximum is not None:
                range_message = self.invalid or f"must be a whole number from {self.minimum} to {self.maximum}"
                messages |= {"invalid": range_message, "min_value": range_message, "max_value": range_message}
            return serializers.IntegerField(
                min_value=self.minimum, max_value=self.maximum, error_messages=messages, **options
            )
        if self.kind == "boolean":  # JSON true or false only: "yes" or 1 is not a caller's confirmation
            messages.setdefault("invalid", "must be true or false")
            return StrictBooleanField(error_messages=messages, **options)
        if self.kind == "date":
            messages.setdefault("invalid", "must be a date as YYYY-MM-DD")
            return DateField(earliest=self.earliest, error_messages=messages, **options)
        text = {"max_length": self.max_length, "error_messages": messages} | options
        if self.kind == "name":
            return NameField(**text)
        if self.kind == "phone":
            return PhoneField(**text)
        if self.pattern:
            return PatternField(self.pattern, **text)
        return serializers.CharField(
            max_length=self.max_length, trim_whitespace=True, error_messages=messages, **options
        )

    def json_schema(self) -> dict:
        """This input as a JSON Schema property (for the manifests and MCP)."""
        kind = {"integer": "integer", "boolean": "boolean"}.get(self.kind, "string")
        schema: dict[str, object] = {"type": kind}
        if self.kind == "date":
            schema["format"] = "date"
        if self.choices:
            schema["enum"] = list(self.choices)
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.pattern:
            schema["pattern"] = self.pattern
        if self.description:
            schema["description"] = self.description
        return schema


class _Inputs(serializers.Serializer):
    strict = True

    def validate(self, attrs: dict) -> dict:
        unknown = set(self.initial_data) - set(self.fields) if self.strict else set()
        if unknown:
            raise serializers.ValidationError({name: "unknown field" for name in sorted(unknown)})
        return attrs


def serializer_for(name: str, inputs: Sequence[Input], *, strict: bool = True) -> type[serializers.Serializer]:
    """A serializer class validating these inputs (`strict`: unknown fields are an error naming them)."""
    fields: dict[str, object] = {spec.name: spec.field() for spec in inputs}
    return type(name, (_Inputs,), fields | {"strict": strict})


# What each serializer class makes of no values at all (its defaults), once it has accepted them:
# a tool read without a query string (every prefetched answer) builds no serializer, whose fields
# DRF deep-copies per instance. Bounded: the classes are made once each (definitions.py).
_EMPTY: dict[type[serializers.Serializer], dict[str, Value]] = {}


def parse(serializer: type[serializers.Serializer], data: Mapping[str, object]) -> dict[str, Value]:
    """Validated values, or serializers.ValidationError naming each bad field."""
    if not isinstance(data, Mapping):
        raise serializers.ValidationError({"body": "must be a JSON object"})
    if not data and serializer in _EMPTY:
        return dict(_EMPTY[serializer])
    checked = serializer(data=data)
    checked.is_valid(raise_exception=True)
    values = dict(checked.validated_data)
    if not data:
        _EMPTY[serializer] = dict(values)
    return values


def object_schema(inputs: Sequence[Input]) -> dict:
    """The JSON Schema (type object) of a tool's arguments."""
    return {
        "type": "object",
        "properties": {spec.name: spec.json_schema() for spec in inputs},
        "required": [spec.name for spec in inputs if spec.required or spec.ask],
        "additionalProperties": False,
    }

"""Changelist filters the stock admin lacks: a free time range, and a typed-in exact value."""

from collections.abc import Iterator
from datetime import UTC, datetime

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone


class _InputsFilter(admin.FieldListFilter):
    """A filter rendered as a small form of text inputs, keeping the other active filters."""

    template = "admin/audit/input_filter.html"
    input_type = "text"

    def labelled_parameters(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def expected_parameters(self) -> list[str]:
        return [name for name, _ in self.labelled_parameters()]

    def value(self, name: str) -> str:
        values = self.used_parameters.get(name) or [""]
        return values[-1]

    def choices(self, changelist: ChangeList) -> Iterator[dict[str, object]]:
        mine = set(self.expected_parameters())
        yield {
            "inputs": [(name, label, self.value(name)) for name, label in self.labelled_parameters()],
            "input_type": self.input_type,
            "hidden": [(k, v) for k, v in changelist.params.items() if k not in mine],
            "clear_url": changelist.get_query_string(remove=list(mine)),
        }


class ExactValueFilter(_InputsFilter):
    def labelled_parameters(self) -> list[tuple[str, str]]:
        return [(self.field_path, "equals")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Model]) -> QuerySet[Model]:
        value = self.value(self.field_path).strip()
        return queryset.filter(**{self.field_path: value}) if value else queryset


class TimeRangeFilter(_InputsFilter):
    input_type = "datetime-local"

    def labelled_parameters(self) -> list[tuple[str, str]]:
        return [(f"{self.field_path}__gte", "from (UTC)"), (f"{self.field_path}__lt", "before (UTC)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Model]) -> QuerySet[Model]:
        for name, _ in self.labelled_parameters():
            moment = parse_utc(self.value(name))
            if moment is not None:
                queryset = queryset.filter(**{name: moment})
        return queryset


def parse_utc(text: str) -> datetime | None:
    """'2026-05-01', '2026-05-01T10:30' or a full ISO instant; naive values are UTC."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise IncorrectLookupParameters(f"not a date or time: {text!r}") from None
    return moment.replace(tzinfo=UTC) if timezone.is_naive(moment) else moment

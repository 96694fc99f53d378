"""Field mapping: the vendor preset's FHIRPath per flat field, overridden by a health system's MappingRules.

`load_mapping` runs in the calling thread (it reads the database) and returns a frozen Mapping with
compiled expressions that the normalizers and the I/O loop use without touching the database.
Mappings are cached per process and rebuilt when the health system or any of its rules changes.
"""

import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from antlr4 import CommonTokenStream, InputStream
from antlr4.error.ErrorListener import ErrorListener
from antlr4.error.Errors import RecognitionException
from antlr4.Recognizer import Recognizer
from antlr4.Token import Token
from django.core.exceptions import ValidationError
from django.db.models import Count, Max
from fhirpathpy import compile as compile_fhirpath
from fhirpathpy.models import models as fhir_models
from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

from ehr_integrations.models import FlatResource, HealthSystem, MappingRule
from ehr_integrations.normalize.fhirpath_fast import Unsupported, compile_fast
from ehr_integrations.normalize.flat import FLAT_TYPES, field_names
from ehr_integrations.presets import Preset, preset
from ehr_integrations.transport.local_cache import LocalCache

logger = logging.getLogger(__name__)

# The R4 model lets FHIRPath see choice elements (medication, value) under their short names.
R4 = fhir_models["r4"]

# Inputs of computed flat fields that a rule may also override.
INPUT_FIELDS: dict[str, tuple[str, ...]] = {"medication": ("refills_allowed", "validity_end")}


def rule_fields(resource: str) -> tuple[str, ...]:
    """The field names a MappingRule may target for one flat resource."""
    return field_names(resource) + INPUT_FIELDS.get(resource, ())


class _Refuse(ErrorListener):
    def syntaxError(
        self,
        recognizer: Recognizer,
        offendingSymbol: Token | None,
        line: int,
        column: int,
        msg: str,
        e: RecognitionException | None,
    ) -> None:
        raise ValidationError(f"Not a valid FHIRPath expression: {msg} (at character {column + 1}).")


def _check_syntax(expr: str) -> None:
    """fhirpathpy's own parser ignores syntax errors; parse the whole text strictly instead."""
    lexer = FHIRPathLexer(InputStream(expr))
    lexer.removeErrorListeners()
    lexer.addErrorListener(_Refuse())
    parser = FHIRPathParser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(_Refuse())
    parser.entireExpression()


def validate_expression(expr: str) -> None:
    """Refuse an expression that does not parse or cannot run; raises ValidationError with a clear message."""
    if not isinstance(expr, str) or not expr.strip():
        raise ValidationError("A FHIRPath expression is required.")
    _check_syntax(expr)
    try:
        compiled = compile_fhirpath(expr, model=R4)
        compiled({"resourceType": "Basic"}, {})
    # fhirpathpy signals unknown functions, wrong arity and undefined variables with bare Exceptions.
    except Exception as exc:
        raise ValidationError(f"Not a valid FHIRPath expression: {exc}.") from None


@dataclass(frozen=True)
class Expression:
    text: str
    fn: Any  # fhirpathpy's compiled expression: the reference
    fast: Any = None  # the same expression compiled to closures, where it stays in that subset

    def values(self, resource: dict) -> list:
        """The expression's results on one FHIR resource; [] when the data makes it fail."""
        if not isinstance(resource, dict):
            return []
        if self.fast is not None:
            try:
                return self.fast(resource)
            except Unsupported:
                pass  # the data leaves the fast path's subset: fhirpathpy decides
        try:
            return list(self.fn(resource, {}))
        # Malformed input must come out as missing, never as an error (issue 5 acceptance).
        except Exception:
            return []


def validate_rule(rule: MappingRule) -> None:
    """Refuse a rule whose field the flat resource lacks or whose FHIRPath does not parse (admin and YAML)."""
    errors = {}
    if rule.resource in FlatResource.values and rule.field not in rule_fields(rule.resource):
        errors["field"] = (
            f"{rule.resource} has no field {rule.field!r}; use one of {', '.join(rule_fields(rule.resource))}"
        )
    try:
        if rule.expression:  # a blank one is already refused as a required field
            validate_expression(rule.expression)
    except ValidationError as exc:
        errors["expression"] = exc.messages
    if errors:
        raise ValidationError(errors)


@lru_cache(maxsize=1024)
def compile_expression(text: str) -> Expression:
    return Expression(text=text, fn=compile_fhirpath(text, model=R4), fast=compile_fast(text))


@dataclass(frozen=True)
class Mapping:
    """The compiled field map of one health system; safe to hand to the I/O loop."""

    preset: Preset
    expressions: MappingProxyType  # (flat resource, field) -> Expression
    overridden: frozenset  # (flat resource, field) set by a MappingRule
    time_zone: str = "UTC"  # the health system's, for dates spoken and shown

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def expression(self, resource: str, field: str) -> Expression | None:
        return self.expressions.get((resource, field))

    def values(self, resource: str, field: str, fhir: dict) -> list:
        expression = self.expression(resource, field)
        return expression.values(fhir) if expression else []

    def is_overridden(self, resource: str, field: str) -> bool:
        return (resource, field) in self.overridden


def build_mapping(vendor: str, rules: dict[tuple[str, str], str] | None = None, time_zone: str = "UTC") -> Mapping:
    """A Mapping from a preset and {(resource, field): expression} overrides; no database."""
    base = preset(vendor)
    texts = {(resource, name): text for resource, fields in base.fields.items() for name, text in fields.items()}
    texts.update(rules or {})
    compiled = {key: compile_expression(text) for key, text in texts.items() if key[0] in FLAT_TYPES}
    return Mapping(
        preset=base,
        expressions=MappingProxyType(compiled),
        overridden=frozenset(rules or ()),
        time_zone=time_zone,
    )


_lock = threading.Lock()
_cache: dict[int, tuple[tuple, Mapping]] = {}
_checked = LocalCache("mapping").clear_on_change(HealthSystem, MappingRule)


def _stamp(health_system: HealthSystem) -> tuple:
    row = (
        HealthSystem.objects.filter(pk=health_system.pk)
        .annotate(rules_at=Max("mapping_rules__updated_at"), rules_n=Count("mapping_rules"))
        .values_list("vendor", "time_zone", "updated_at", "rules_at", "rules_n")
        .get()
    )
    return tuple(row)


def _usable(rule: MappingRule) -> bool:
    """A rule saved before validation existed (or by a bulk update) must not break every call."""
    if rule.field not in rule_fields(rule.resource):
        return False
    try:
        validate_expression(rule.expression)
    except ValidationError:
        logger.warning("mapping rule %s ignored: invalid expression", rule.pk)
        return False
    return True


def load_mapping(health_system: HealthSystem) -> Mapping:
    """The health system's compiled mapping (calling thread only: reads the database at most every
    LOCAL_CACHE_SECONDS per process, then only to see whether the rules changed)."""
    return _checked.get_or_load(health_system.pk, lambda: _load(health_system))


def _load(health_system: HealthSystem) -> Mapping:
    stamp = _stamp(health_system)
    with _lock:
        cached = _cache.get(health_system.pk)
    if cached and cached[0] == stamp:
        return cached[1]
    rules = {
        (rule.resource, rule.field): rule.expression
        for rule in health_system.mapping_rules.filter(enabled=True)
        if _usable(rule)
    }
    mapping = build_mapping(stamp[0], rules, time_zone=stamp[1])
    with _lock:
        _cache[health_system.pk] = (stamp, mapping)
    return mapping

"""Health-system configuration as code: apply one YAML file, export the same format without secrets.

The format is documented in docs/health-system-yaml.md. Applying is declarative and idempotent:
fields not in the file keep their defaults, transfer targets and mapping rules not in the file
are removed, and applying the same file twice changes nothing (no save, no audit entry).
"""

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import yaml
from django.core.exceptions import ValidationError
from django.db import models, transaction

from compliance.yaml_lines import Path, YamlError, load_with_lines, unexpected_keys
from ehr_integrations.models import (
    EHRConnection,
    HealthSystem,
    MappingRule,
    SchedulingRules,
    TransferTarget,
    VerificationPolicy,
)
from ehr_integrations.normalize.mapping import validate_rule
from ehr_integrations.presets.overrides import validate_overrides
from ehr_integrations.presets.scheduling_rules import validate_rules
from ehr_integrations.presets.write_settings import validate_write_settings

TOP_FIELDS = [
    "slug",
    "name",
    "vendor",
    "time_zone",
    "fhir_base_url",
    "extra_allowed_hosts",
    "filler_phrases",
    "enabled",
]
CONNECTION_FIELDS = [
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
]
POLICY_FIELDS = [
    "factor_sets",
    "name_parts_required",
    "max_failures_per_call",
    "max_failures_per_caller_hour",
    "max_failures_per_patient",
    "patient_window_minutes",
    "patient_lockout_minutes",
    "mrn_pattern",
]
TARGET_FIELDS = ["name", "phone", "hours", "after_hours_name", "after_hours_phone"]
RULE_FIELDS = ["resource", "field", "expression", "enabled", "note"]
SECTIONS = [
    "connection", "capabilities", "writes", "scheduling", "verification_policy", "transfer_targets", "mapping_rules"
]  # fmt: skip


@dataclass
class ApplyResult:
    slug: str
    created: bool = False
    changed: list[str] = field(default_factory=list)


class _Applier:
    def __init__(self, data: dict, lines: dict[Path, int]) -> None:
        self.data = data
        self.lines = lines
        self.result = ApplyResult(slug=str(data.get("slug", "")))

    def fail(self, path: Path, message: str) -> YamlError:
        line = self.lines.get(path) or self.lines.get(path[:-1])
        return YamlError(path, line, message)

    def mapping(self, path: Path, value: object, allowed: list[str], required: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(path, "must be a mapping")
        if "client_secret" in value:
            raise self.fail(
                path + ("client_secret",), "secrets do not belong in files; use client_secret_env: VARIABLE"
            )
        if problem := unexpected_keys(value, allowed, required):
            key, message = problem
            raise self.fail(path + ((key,) if key else ()), message)
        return value

    def assign(
        self,
        instance: models.Model,
        values: dict,
        names: list[str],
        path: Path,
        validate: Callable[[models.Model], None] | None = None,
    ) -> bool:
        """Set given fields (others back to their defaults), validate, save only if something changed."""
        changed = instance._state.adding
        for name in names:
            if name == "slug" and not instance._state.adding:
                continue
            model_field = instance._meta.get_field(name)
            new = values[name] if name in values else model_field.get_default()
            if getattr(instance, name) != new:
                setattr(instance, name, new)
                changed = True
        try:
            instance.full_clean(validate_unique=instance._state.adding)
            if validate:
                validate(instance)
        except ValidationError as exc:
            field_name, messages = next(iter(exc.message_dict.items()))
            sub = (field_name,) if field_name in names else ()
            raise self.fail(path + sub, "; ".join(messages)) from None
        if changed:
            instance.save()
            self.result.changed.append(".".join(str(p) for p in path) or type(instance).__name__)
        return changed

    def apply(self) -> ApplyResult:
        data = self.mapping((), self.data, TOP_FIELDS + SECTIONS, required=("slug", "name", "fhir_base_url"))
        system = HealthSystem.objects.filter(slug=data["slug"]).first() or HealthSystem(slug=data["slug"])
        self.result.created = system._state.adding
        self.assign(system, data, TOP_FIELDS, ())
        self.apply_connection(system, data.get("connection", {}))
        self.apply_capabilities(system, data.get("capabilities", {}))
        self.apply_writes(system, data.get("writes", {}))
        self.apply_scheduling(system, data.get("scheduling", {}))
        self.apply_policy(system, data.get("verification_policy", {}))
        self.apply_targets(system, data.get("transfer_targets", {}))
        self.apply_rules(system, data.get("mapping_rules", []))
        return self.result

    def apply_connection(self, system: HealthSystem, value: object) -> None:
        path: Path = ("connection",)
        values = self.mapping(path, value, CONNECTION_FIELDS + ["client_secret_env"])
        connection = EHRConnection.objects.filter(health_system=system).first() or EHRConnection(health_system=system)
        secret_changed = False
        if "client_secret_env" in values:
            variable = values["client_secret_env"]
            secret = os.environ.get(str(variable), "")
            if not secret:
                raise self.fail(path + ("client_secret_env",), f"environment variable {variable} is not set")
            if connection.client_secret() != secret:
                connection.set_client_secret(secret)
                secret_changed = True
        if not self.assign(connection, values, CONNECTION_FIELDS, path) and secret_changed:
            connection.save()
            self.result.changed.append("connection.client_secret")

    def apply_capabilities(self, system: HealthSystem, value: object) -> None:
        """The site's capability overrides (presets/overrides.py); an empty or missing section clears them."""
        path: Path = ("capabilities",)
        if not isinstance(value, dict):
            raise self.fail(path, "must be a mapping")
        try:
            validate_overrides(value)
        except ValidationError as exc:
            message = "; ".join(exc.messages)
            raise self.fail(path + (message.split(":", 1)[0],), message) from None
        connection = EHRConnection.objects.get(health_system=system)
        if connection.capability_overrides != value:
            connection.capability_overrides = value
            connection.save(update_fields=["capability_overrides", "updated_at"])
            self.result.changed.append("capabilities")

    def apply_writes(self, system: HealthSystem, value: object) -> None:
        """The site's write settings (presets/write_settings.py); an empty or missing section clears them."""
        path: Path = ("writes",)
        try:
            validate_write_settings(value)
        except ValidationError as exc:
            message = "; ".join(exc.messages)
            raise self.fail(path + (message.split(":", 1)[0].split(".")[0],), message) from None
        if system.write_settings != value:
            system.write_settings = value
            system.save(update_fields=["write_settings", "updated_at"])
            self.result.changed.append("writes")

    def apply_scheduling(self, system: HealthSystem, value: object) -> None:
        """The site's scheduling rules (presets/scheduling_rules.py); an empty or missing section books nothing."""
        path: Path = ("scheduling",)
        try:
            validate_rules(value)
        except ValidationError as exc:
            message = "; ".join(exc.messages)
            raise self.fail(path + (message.split(":", 1)[0].split(".")[0],), message) from None
        current = SchedulingRules.objects.filter(health_system=system).first()
        if (current.rules if current else {}) != value:
            SchedulingRules.objects.update_or_create(health_system=system, defaults={"rules": value})
            self.result.changed.append("scheduling")

    def apply_policy(self, system: HealthSystem, value: object) -> None:
        path: Path = ("verification_policy",)
        values = self.mapping(path, value, POLICY_FIELDS)
        policy = VerificationPolicy.objects.filter(health_system=system).first()
        self.assign(policy or VerificationPolicy(health_system=system), values, POLICY_FIELDS, path)

    def apply_targets(self, system: HealthSystem, value: object) -> None:
        path: Path = ("transfer_targets",)
        purposes = [choice for choice, _ in TransferTarget._meta.get_field("purpose").choices]
        targets = self.mapping(path, value, purposes)
        existing = {t.purpose: t for t in system.transfer_targets.all()}
        for purpose, target_values in targets.items():
            target_path = path + (purpose,)
            values = self.mapping(target_path, target_values, TARGET_FIELDS, required=("name", "phone"))
            target = existing.pop(purpose, None) or TransferTarget(health_system=system, purpose=purpose)
            self.assign(target, values, TARGET_FIELDS, target_path)
        for stale in existing.values():
            stale.delete()
            self.result.changed.append(f"transfer_targets.{stale.purpose} (removed)")

    def apply_rules(self, system: HealthSystem, value: object) -> None:
        path: Path = ("mapping_rules",)
        if not isinstance(value, list):
            raise self.fail(path, "must be a list")
        existing = {(r.resource, r.field): r for r in system.mapping_rules.all()}
        for index, rule_values in enumerate(value):
            rule_path = path + (index,)
            values = self.mapping(rule_path, rule_values, RULE_FIELDS, required=("resource", "field", "expression"))
            rule = existing.pop((values["resource"], values["field"]), None) or MappingRule(health_system=system)
            self.assign(rule, values, RULE_FIELDS, rule_path, validate=validate_rule)
        for stale in existing.values():
            stale.delete()
            self.result.changed.append(f"mapping_rules.{stale.resource}.{stale.field} (removed)")


def apply_text(text: str) -> ApplyResult:
    """Create or update a health system from YAML text; all or nothing. Raises YamlError."""
    data, lines = load_with_lines(text)
    with transaction.atomic():
        return _Applier(data, lines).apply()


def _fields(instance: models.Model, names: list[str]) -> dict:
    return {name: getattr(instance, name) for name in names}


def export_data(slug: str) -> dict:
    system = HealthSystem.objects.get(slug=slug)
    data = _fields(system, TOP_FIELDS)
    connection = EHRConnection.objects.filter(health_system=system).first()
    if connection:
        data["connection"] = _fields(connection, CONNECTION_FIELDS)
        if connection.capability_overrides:
            data["capabilities"] = connection.capability_overrides
    if system.write_settings:
        data["writes"] = system.write_settings
    scheduling = SchedulingRules.objects.filter(health_system=system).first()
    if scheduling and scheduling.rules:
        data["scheduling"] = scheduling.rules
    policy = VerificationPolicy.objects.filter(health_system=system).first()
    if policy:
        data["verification_policy"] = _fields(policy, POLICY_FIELDS)
    data["transfer_targets"] = {t.purpose: _fields(t, TARGET_FIELDS) for t in system.transfer_targets.all()}
    data["mapping_rules"] = [_fields(r, RULE_FIELDS) for r in system.mapping_rules.all()]
    return data


def export_text(slug: str) -> str:
    """The health system as YAML in the apply format; secrets are never exported."""
    return yaml.safe_dump(export_data(slug), sort_keys=False, allow_unicode=True)

"""Business associates and their BAAs as code: apply one YAML file (docs/business-associates-yaml.md).

Owned by compliance, apart from the health-system files onboarding engineers keep. Applying is
idempotent and all or nothing: the same file twice changes nothing. Each agreement is named by its
business associate and title; a field left out goes back to its default. Agreements and business
associates not in the file are left as they are: a BAA is a record, ended with `status: terminated`,
never by deleting it. Validation is the models' own (`full_clean`), the same as in the admin.
"""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path as FilePath

import yaml
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import models, transaction

from compliance.models import BusinessAssociate, BusinessAssociateAgreement
from compliance.yaml_lines import Path, YamlError, load_with_lines, unexpected_keys

ASSOCIATE_FIELDS = ["name", "services", "contact_name", "contact_email"]
AGREEMENT_FIELDS = [
    "title",
    "status",
    "effective_date",
    "expiry_date",
    "services_covered",
    "contact_name",
    "contact_email",
    "notes",
]


@dataclass
class AgreementsResult:
    changed: list[str] = field(default_factory=list)


class _Applier:
    def __init__(self, data: object, lines: dict[Path, int], base_dir: FilePath) -> None:
        self.data = data
        self.lines = lines
        self.base_dir = base_dir
        self.result = AgreementsResult()

    def fail(self, path: Path, message: str) -> YamlError:
        return YamlError(path, self.lines.get(path) or self.lines.get(path[:-1]), message)

    def mapping(self, path: Path, value: object, allowed: list[str], required: tuple[str, ...]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(path, "must be a mapping")
        if problem := unexpected_keys(value, allowed, required):
            key, message = problem
            raise self.fail(path + ((key,) if key else ()), message)
        return value

    def listing(self, path: Path, value: object) -> list:
        if not isinstance(value, list):
            raise self.fail(path, "must be a list")
        return value

    def assign(self, instance: models.Model, values: dict, names: list[str], path: Path) -> bool:
        """Set the given fields (others back to their defaults), validate as the admin does; True if changed."""
        before = {name: getattr(instance, name) for name in names}
        for name in names:
            setattr(instance, name, values[name] if name in values else instance._meta.get_field(name).get_default())
        try:
            instance.full_clean(validate_unique=instance._state.adding)
        except ValidationError as exc:
            name, messages = next(iter(exc.message_dict.items()))
            raise self.fail(path + ((name,) if name in values else ()), " ".join(messages)) from None
        return instance._state.adding or before != {name: getattr(instance, name) for name in names}

    def apply(self) -> AgreementsResult:
        data = self.mapping((), self.data, ["business_associates"], required=("business_associates",))
        for index, value in enumerate(self.listing(("business_associates",), data["business_associates"])):
            self.apply_associate(("business_associates", index), value)
        return self.result

    def apply_associate(self, path: Path, value: object) -> None:
        values = self.mapping(path, value, ASSOCIATE_FIELDS + ["agreements"], required=("name",))
        associate = BusinessAssociate.objects.filter(name=values["name"]).first() or BusinessAssociate()
        if self.assign(associate, values, ASSOCIATE_FIELDS, path):
            associate.save()
            self.result.changed.append(f"business associate {associate.name}")
        titles: set[object] = set()
        for index, agreement in enumerate(self.listing(path + ("agreements",), values.get("agreements", []))):
            title = agreement.get("title") if isinstance(agreement, dict) else None
            if title in titles:
                raise self.fail(path + ("agreements", index, "title"), f"a second agreement titled {title!r}")
            titles.add(title)
            self.apply_agreement(path + ("agreements", index), associate, agreement)

    def apply_agreement(self, path: Path, associate: BusinessAssociate, value: object) -> None:
        allowed = AGREEMENT_FIELDS + ["health_systems", "document"]
        values = self.mapping(path, value, allowed, required=("title", "effective_date"))
        agreement = BusinessAssociateAgreement.objects.filter(
            business_associate=associate, title=values["title"]
        ).first() or BusinessAssociateAgreement(business_associate=associate)
        document_changed = self.attach_document(path + ("document",), agreement, values.get("document"))
        systems = self.health_systems(path + ("health_systems",), values.get("health_systems", []))
        changed = self.assign(agreement, values, AGREEMENT_FIELDS, path) or document_changed
        if changed:
            agreement.save()
        if agreement._state.adding or set(agreement.health_systems.all()) != set(systems):
            agreement.health_systems.set(systems)
            changed = True
        if changed:
            self.result.changed.append(f"agreement {associate.name}: {agreement.title}")

    def attach_document(self, path: Path, agreement: BusinessAssociateAgreement, name: object) -> bool:
        """The signed document, read from a path relative to the YAML file; stored only when its bytes differ."""
        if name is None:
            changed = bool(agreement.document)
            agreement.document = ""
            return changed
        file = self.base_dir / str(name)
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise self.fail(path, f"cannot read {file}: {exc.strerror}") from None
        if agreement.document and _digest(agreement.document) == hashlib.sha256(content).hexdigest():
            return False
        agreement.document = ContentFile(content, name=file.name)  # written to storage by save()
        return True

    def health_systems(self, path: Path, slugs: object) -> list[models.Model]:
        # Lazy, as in the model: compliance imports nothing from ehr_integrations.
        model = BusinessAssociateAgreement._meta.get_field("health_systems").related_model
        slugs = [str(s) for s in self.listing(path, slugs)]
        found = list(model.objects.filter(slug__in=slugs))
        if missing := sorted(set(slugs) - {s.slug for s in found}):
            raise self.fail(path, f"unknown health system(s): {', '.join(missing)}")
        return found


def _digest(stored: models.fields.files.FieldFile) -> str | None:
    try:
        with stored.open("rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None  # the stored file is gone: store it again


def export_text(*, documents_dir: FilePath) -> str:
    """Every business associate and agreement as YAML in the apply format; each signed document is
    written into documents_dir under the name the file gives it, so the file applies from there."""
    associates = []
    for associate in BusinessAssociate.objects.prefetch_related("agreements__health_systems"):
        data = {name: getattr(associate, name) for name in ASSOCIATE_FIELDS}
        data["agreements"] = [_export_agreement(a, documents_dir) for a in associate.agreements.all()]
        associates.append(data)
    return yaml.safe_dump({"business_associates": associates}, sort_keys=False, allow_unicode=True)


def _export_agreement(agreement: BusinessAssociateAgreement, documents_dir: FilePath) -> dict:
    data = {name: getattr(agreement, name) for name in AGREEMENT_FIELDS}
    data["health_systems"] = sorted(s.slug for s in agreement.health_systems.all())
    if agreement.document:
        name = f"baa-{agreement.pk}{FilePath(agreement.document.name).suffix}"
        with agreement.document.open("rb") as stored:
            (documents_dir / name).write_bytes(stored.read())
        data["document"] = name
    return data


def apply_text(text: str, *, base_dir: FilePath) -> AgreementsResult:
    """Create or update business associates and their agreements from YAML text; all or nothing."""
    data, lines = load_with_lines(text)
    with transaction.atomic():
        return _Applier(data, lines, base_dir).apply()

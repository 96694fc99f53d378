"""Names for the ids the log keeps: agent clients by their primary key, health systems by slug.

Both models belong to apps above audit; they are read through the app registry (audit imports
nothing from them) in one query with the records, never one query per row.
"""

from django.apps import apps
from django.db.models import CharField, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Cast, Coalesce

from audit.models import AuditRecord


def with_names(records: QuerySet[AuditRecord]) -> QuerySet[AuditRecord]:
    """The records with `agent_client_name` and `health_system_name` (the stored value when unknown)."""
    agent_clients = apps.get_model("calls", "AgentClient").objects
    health_systems = apps.get_model("ehr_integrations", "HealthSystem").objects
    agent = agent_clients.annotate(key=Cast("pk", CharField())).filter(key=OuterRef("agent_client")).values("name")
    system = health_systems.filter(slug=OuterRef("health_system")).values("name")
    return records.annotate(
        agent_client_name=Coalesce(Subquery(agent[:1]), F("agent_client")),
        health_system_name=Coalesce(Subquery(system[:1]), F("health_system")),
    )


def health_system_choices() -> list[tuple[str, str]]:
    """(slug, name) of every health system, for the report's picker."""
    return list(apps.get_model("ehr_integrations", "HealthSystem").objects.values_list("slug", "name"))

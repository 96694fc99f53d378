"""Reads scoped to the asking agent client: anything it may not see is simply not found."""

import functools
from uuid import UUID

from django.db import connection
from django.http import Http404

from calls.models import AgentClient, CallSession, CallState
from calls.session.row_reads import RowReader
from ehr_integrations.models import HealthSystem, VerificationPolicy
from ehr_integrations.transport.local_cache import LocalCache

_systems = LocalCache("health_system").clear_on_change(HealthSystem, VerificationPolicy)
_calls = RowReader(CallSession, "id", "agent_client_id")


def health_system_for_client(*, client: AgentClient, slug: str) -> HealthSystem:
    """One of the client's enabled health systems, checked in the database on every call (a revoked
    grant or a disabled system takes effect at once), then this process's copy with its policy."""
    with connection.cursor() as cursor:
        cursor.execute(_allowed_system_sql(connection.vendor), [client.pk, slug])
        row = cursor.fetchone()
    if row is None:
        raise Http404("health_system")  # names what was not found (the edges' 404 envelope)
    try:
        return _health_system(row[0])
    except HealthSystem.DoesNotExist:  # deleted since the grant was read
        raise Http404("health_system") from None


@functools.cache
def _allowed_system_sql(vendor: str) -> str:  # built once per vendor, as the call row's statements
    quote, grants, systems = connection.ops.quote_name, AgentClient.health_systems.through._meta, HealthSystem._meta
    system_id, grant_system = quote(systems.pk.column), quote(grants.get_field("healthsystem").column)
    grant_client = quote(grants.get_field("agentclient").column)
    return (
        f"SELECT s.{system_id} FROM {quote(systems.db_table)} s"  # noqa: S608 (the models' names)
        f" JOIN {quote(grants.db_table)} g ON g.{grant_system} = s.{system_id}"
        f" WHERE g.{grant_client} = %s AND s.{quote(systems.get_field('slug').column)} = %s"
        f" AND s.{quote(systems.get_field('enabled').column)}"
    )


def _health_system(pk: int) -> HealthSystem:
    return _systems.get_or_load(pk, lambda: HealthSystem.objects.select_related("verification_policy").get(pk=pk))


def call_for_client(*, client: AgentClient, call_id: str | UUID) -> CallSession:
    """The client's call, with its health system and policy from this process's copy (one query).

    Http404 for another client's call, no call, or a call id that is not a UUID."""
    try:
        call_id = call_id if isinstance(call_id, UUID) else UUID(str(call_id))
    except ValueError:
        raise Http404("call_id") from None
    call = _calls.one(call_id, client.pk)
    if call is None:
        raise Http404("call_id")
    call.agent_client = client
    call.health_system = _health_system(call.health_system_id)
    return call


def verified_facts(call: CallSession) -> dict:
    """What a verified call's tool calls need to know of it, kept in its session store (no PHI)."""
    return {"client": call.agent_client_id, "health_system": call.health_system_id, "method": call.verification_method}


def verified_call(*, client: AgentClient, call_id: str | UUID, facts: dict | None) -> CallSession | None:
    """The client's verified call from the facts its session store keeps, without a database read.

    The store holds them from verification until the call ends (`end` and the sweeper destroy the
    store first), encrypted and authenticated with the call's key. None when there are none or
    the call is another client's: the caller then asks the database (call_for_client).
    """
    if not facts or facts.get("client") != client.pk:
        return None
    call = CallSession(
        id=call_id,
        agent_client=client,
        health_system=_health_system(facts["health_system"]),
        state=CallState.VERIFIED,
        verification_method=facts["method"],
    )
    call._state.adding = False  # an existing row, read from the store: never to be inserted
    return call

"""The patient search a verify turn makes, and the budgets it draws from: the same for a turn that
completes a factor set and for a speculative search started before it (speculation.py)."""

from collections.abc import Awaitable
from concurrent.futures import Future

from calls.models import CallSession
from calls.session import call_sessions, session_store
from calls.verification import claims, search_tags
from calls.verification.identity_match import SEARCHED_CLAIMS, Candidate, candidates_of
from compliance.phi_logging import sensitive_phi
from ehr_integrations.fhir.client import connection_config, deadline_in
from ehr_integrations.fhir.patient_search import find_candidates
from ehr_integrations.fhir.site import client_for
from ehr_integrations.normalize.flat import FlatPatient
from ehr_integrations.normalize.mapping import load_mapping
from ehr_integrations.transport import breaker, io_loop


@sensitive_phi
def searched(given: dict[str, str]) -> dict[str, str]:
    """What of the caller's identifiers the search goes by: all that decides which request it makes."""
    return {name: value for name, value in given.items() if name in SEARCHED_CLAIMS}


def budgets(
    call: CallSession, given: dict[str, str], seen: session_store.Seen | None = None
) -> tuple[claims.Budget, ...]:
    """The claimed-value, caller and agent client budgets a search for `given` draws from (claims.py);
    `seen`: a read of the call's entries that holds the caller's (call_sessions.caller_phone)."""
    return claims.budgets(
        health_system_id=call.health_system_id,
        agent_client_id=call.agent_client_id,
        caller_phone=call_sessions.caller_phone(call, seen),
        given=searched(given),
        caller_limit=call.health_system.verification_policy.max_failures_per_caller_hour,
    )


@sensitive_phi
def start(call: CallSession, given: dict[str, str]) -> Future[list[Candidate]]:
    """The patient search on the I/O loop, within the connection's whole request deadline."""
    system = call.health_system
    deadline = deadline_in(connection_config(system).request_deadline_s)
    query = searched(given)
    coro = _candidates(
        str(call.id), find_candidates(client_for(system), load_mapping(system), query, deadline=deadline)
    )
    # What this caller's input makes the EHR fail counts toward the breaker once a minute at most.
    return io_loop.spawn(breaker.attributed(coro, tags=search_tags.for_search(call, query)))


async def _candidates(call_id: str, search: Awaitable[list[FlatPatient]]) -> list[Candidate]:
    return candidates_of(call_id, await search)

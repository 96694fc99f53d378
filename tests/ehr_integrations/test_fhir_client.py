"""The FHIR client over real HTTP to the sandbox: search, paging, includes, reads, operations, 401 handling."""

import asyncio
import time
from unittest.mock import patch

import pytest
from django.core.cache import cache

from ehr_integrations.errors import EHRAuthError, EHRRequestRejected
from ehr_integrations.fhir import refusals
from ehr_integrations.fhir.client import connection_config, deadline_in, fhir_client
from ehr_integrations.models import EHRConnection
from ehr_integrations.transport import io_loop
from tests.ehr_integrations.sandbox_systems import fhir_requests, jwks_system, secret_system, token_requests


def call(coro_factory, seconds: float = 8.0):
    deadline = deadline_in(seconds)
    return io_loop.wait(coro_factory(deadline), deadline=deadline)


def client_for(system):
    return fhir_client(connection_config(system))


@pytest.mark.django_db
def test_search_follows_next_links_up_to_the_page_cap(sandbox):
    client = client_for(secret_system(sandbox))
    result = call(lambda d: client.search("Patient", {"_count": "5"}, deadline=d, max_pages=3))
    assert len(result.resources) == 15 and result.truncated
    assert len(fhir_requests(sandbox)) == 3


@pytest.mark.django_db
def test_search_returns_included_resources_apart_from_matches(sandbox):
    client = client_for(secret_system(sandbox))
    patient_id = sandbox.patients()[0]["id"]
    params = {"patient": patient_id, "_include": ["Appointment:actor"]}
    result = call(lambda d: client.search("Appointment", params, deadline=d))
    assert result.resources and all(r["resourceType"] == "Appointment" for r in result.resources)
    assert {r["resourceType"] for r in result.included} <= {"Practitioner", "Location", "Patient"}
    assert result.included


@pytest.mark.django_db
def test_read_returns_the_resource_and_a_missing_one_is_rejected_as_not_found(sandbox):
    client = client_for(secret_system(sandbox))
    patient_id = sandbox.patients()[0]["id"]
    assert call(lambda d: client.read("Patient", patient_id, deadline=d))["id"] == patient_id
    with pytest.raises(EHRRequestRejected) as missing:
        call(lambda d: client.read("Patient", "no-such-patient", deadline=d))
    assert (missing.value.status, missing.value.reason) == (404, "not_found")
    assert len(fhir_requests(sandbox)) == 2  # a 404 is not retried


@pytest.mark.django_db
def test_an_id_that_is_not_a_fhir_id_never_reaches_the_ehr(sandbox):
    client = client_for(secret_system(sandbox))
    with pytest.raises(EHRRequestRejected):
        call(lambda d: client.read("Patient", "../Appointment?patient=1", deadline=d))
    assert fhir_requests(sandbox) == []


@pytest.mark.django_db
def test_one_token_serves_many_concurrent_requests(sandbox):
    client = client_for(secret_system(sandbox))

    async def twenty(deadline):
        return await asyncio.gather(
            *[client.search("Patient", {"_count": "1"}, deadline=deadline, max_pages=1) for _ in range(20)]
        )

    assert len(call(twenty)) == 20
    assert len(token_requests(sandbox)) == 1


@pytest.mark.django_db
def test_a_401_forces_one_token_refresh_and_one_retry(sandbox):
    client = client_for(secret_system(sandbox))
    call(lambda d: client.search("Patient", {"_count": "1"}, deadline=d))
    sandbox.expire_tokens()
    sandbox.reset_log()
    result = call(lambda d: client.search("Patient", {"_count": "1"}, deadline=d, max_pages=1))
    assert len(result.resources) == 1
    assert [(r["path"], r["status"]) for r in sandbox.requests()] == [
        ("/fhir/Patient/_search", 401),
        ("/oauth2/token", 200),
        ("/fhir/Patient/_search", 200),
    ]


@pytest.mark.django_db
def test_client_secret_post_gets_a_token(sandbox):
    client = client_for(secret_system(sandbox, auth="client_secret_post"))
    assert call(lambda d: client.search("Patient", {"_count": "1"}, deadline=d)).resources
    assert token_requests(sandbox)[0]["status"] == 200


@pytest.mark.django_db(transaction=True)
def test_private_key_jwt_gets_a_token_with_keys_from_our_jwks_url(sandbox, live_server):
    client = client_for(jwks_system(sandbox, live_server))
    assert call(lambda d: client.search("Patient", {"_count": "1"}, deadline=d)).resources
    assert [r["status"] for r in token_requests(sandbox)] == [200]


@pytest.mark.django_db
def test_a_scope_the_ehr_did_not_grant_is_refused_as_an_auth_error(sandbox):
    system = secret_system(sandbox)
    EHRConnection.objects.filter(health_system=system).update(scopes="system/Patient.rs system/Observation.rs")
    client = client_for(system)
    with pytest.raises(EHRAuthError) as refused:
        call(lambda d: client.search("Patient", {"_count": "1"}, deadline=d))
    assert refused.value.error == "invalid_scope", refused.value.description
    assert fhir_requests(sandbox) == []


@pytest.mark.django_db
def test_searches_go_in_a_form_body_and_a_refused_post_falls_back_to_get_once(sandbox):
    client = client_for(secret_system(sandbox))
    sandbox.reset_log()
    call(lambda d: client.search("Patient", {"family": "x"}, deadline=d))
    assert [(r["method"], r["path"], r["form_params"]) for r in fhir_requests(sandbox)] == [
        ("POST", "/fhir/Patient/_search", ["family"])
    ]
    sandbox.set_strict(post_search="refused")
    sandbox.reset_log()
    fresh = client_for(EHRConnection.objects.get().health_system)
    call(lambda d: fresh.search("Patient", {"family": "x"}, deadline=d))
    again = client_for(EHRConnection.objects.get().health_system)
    call(lambda d: again.search("Patient", {"family": "x"}, deadline=d))
    assert [(r["method"], r["status"]) for r in fhir_requests(sandbox)] == [("POST", 405), ("GET", 200), ("GET", 200)]
    sandbox.reset()


@pytest.mark.django_db
def test_a_404_that_get_also_gets_says_nothing_about_post(sandbox):
    client = client_for(secret_system(sandbox))
    with pytest.raises(EHRRequestRejected):
        call(lambda d: client.search("Observation", {"patient": "x"}, deadline=d))
    sandbox.reset_log()
    later = client_for(EHRConnection.objects.get().health_system)
    call(lambda d: later.search("Patient", {"family": "x"}, deadline=d))
    assert [r["method"] for r in fhir_requests(sandbox)] == ["POST"]


@pytest.mark.django_db
def test_refusals_are_read_once_per_process_and_a_refusal_learned_elsewhere_arrives_in_time(sandbox, monkeypatch):
    """Each EHR request asks which operations the site refused: the answer is kept per process for
    LOCAL_CACHE_SECONDS, what this process learns or forgets is seen at once, another's in that time."""
    system = secret_system(sandbox)
    config = connection_config(system)
    reads = []
    real_get_many = refusals.shared_cache.get_many

    async def counted(keys, **kwargs):
        reads.append(keys)
        return await real_get_many(keys, **kwargs)

    with patch.object(refusals.shared_cache, "get_many", counted):
        for _ in range(3):
            assert call(lambda d: refusals.refused(config, deadline=d)) == frozenset()
        assert len(reads) == 1
        call(lambda d: refusals.remember(config, "match", deadline=d))  # this process: seen at once
        assert call(lambda d: refusals.refused(config, deadline=d)) == {"match"}
        refusals.forget(system.id)
        assert call(lambda d: refusals.refused(config, deadline=d)) == frozenset()
        cache.set(refusals.key(system.id, "post_search"), True, 60)  # another process learned one
        assert call(lambda d: refusals.refused(config, deadline=d)) == frozenset()  # not yet seen here
        monkeypatch.setattr(refusals._copies._entries, "ttl_s", 0.2)  # LOCAL_CACHE_SECONDS, shortened
        time.sleep(0.3)
        assert call(lambda d: refusals.refused(config, deadline=d)) == {"post_search"}
        assert len(reads) == 4

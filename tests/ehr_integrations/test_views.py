"""The public JWKS endpoint the EHRs fetch our assertion keys from."""

import pytest

from ehr_integrations.auth import signing_keys


@pytest.mark.django_db
def test_jwks_serves_public_keys_with_kids_and_a_max_age(client, health_system, settings):
    settings.JWKS_MAX_AGE_S = 300
    response = client.get(f"/jwks/{health_system.slug}.json")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=300"
    keys = response.json()["keys"]
    assert [k["kid"] for k in keys] == [signing_keys.signing_key_for(health_system).kid]
    assert all("d" not in k and k["alg"] == "ES384" and k["use"] == "sig" for k in keys)


@pytest.mark.django_db
def test_jwks_publishes_a_new_key_before_it_signs_and_drops_retired_ones(client, health_system, settings):
    settings.SIGNING_KEY_RETIRE_AFTER_S = 0
    old = signing_keys.signing_key_for(health_system)
    new = signing_keys.start_rotation(health_system, grace_s=0)
    signing_keys.advance_rotation(health_system)  # old -> retiring
    assert {k["kid"] for k in client.get(f"/jwks/{health_system.slug}.json").json()["keys"]} == {old.kid, new.kid}
    signing_keys.advance_rotation(health_system)  # retiring -> retired
    assert [k["kid"] for k in client.get(f"/jwks/{health_system.slug}.json").json()["keys"]] == [new.kid]


@pytest.mark.django_db
def test_jwks_of_an_unknown_health_system_is_404(client):
    assert client.get("/jwks/nowhere.json").status_code == 404

"""The sandbox's SMART Backend Services token endpoint, driven over real HTTP with signed assertions."""

import pytest

from tests.sandbox.signing import assertion, es384_key, public_jwks, rs384_key, token_form

SCOPES = ["system/Patient.read", "system/Appointment.rs"]


@pytest.fixture
def es_key():
    return es384_key()


@pytest.fixture
def jwt_client(sandbox, es_key):
    sandbox.register_client("gw-jwt", scopes=SCOPES, jwks=public_jwks(es_key))
    return "gw-jwt"


def post_assertion(http, sandbox, signed, scope="system/Patient.read"):
    return http.post(sandbox.token_url, data=token_form(signed, scope))


def assert_refused(response, status, error):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]


def test_good_es384_assertion_gets_a_bearer_token(http, sandbox, jwt_client, es_key):
    response = post_assertion(http, sandbox, assertion(es_key, client_id=jwt_client, aud=sandbox.token_url))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "system/Patient.read"
    assert response.headers["Cache-Control"] == "no-store"


def test_good_rs384_assertion_gets_a_token(http, sandbox):
    key = rs384_key()
    sandbox.register_client("gw-rsa", scopes=SCOPES, jwks=public_jwks(key))

    response = post_assertion(http, sandbox, assertion(key, client_id="gw-rsa", aud=sandbox.token_url))

    assert response.status_code == 200, response.text


def test_replayed_jti_is_refused(http, sandbox, jwt_client, es_key):
    first = assertion(es_key, client_id=jwt_client, aud=sandbox.token_url, jti="once")
    second = assertion(es_key, client_id=jwt_client, aud=sandbox.token_url, jti="once")
    assert post_assertion(http, sandbox, first).status_code == 200

    assert_refused(post_assertion(http, sandbox, second), 401, "invalid_client")


def test_wrong_aud_is_refused(http, sandbox, jwt_client, es_key):
    signed = assertion(es_key, client_id=jwt_client, aud=sandbox.base_url + "/token")

    assert_refused(post_assertion(http, sandbox, signed), 401, "invalid_client")


def test_expired_assertion_is_refused(http, sandbox, jwt_client, es_key):
    signed = assertion(es_key, client_id=jwt_client, aud=sandbox.token_url, exp_in=-5)

    assert_refused(post_assertion(http, sandbox, signed), 401, "invalid_client")


def test_exp_six_minutes_ahead_is_refused(http, sandbox, jwt_client, es_key):
    signed = assertion(es_key, client_id=jwt_client, aud=sandbox.token_url, exp_in=360)

    assert_refused(post_assertion(http, sandbox, signed), 401, "invalid_client")


def test_exp_exactly_five_minutes_ahead_is_accepted(http, sandbox, jwt_client, es_key):
    signed = assertion(es_key, client_id=jwt_client, aud=sandbox.token_url, exp_in=300)

    assert post_assertion(http, sandbox, signed).status_code == 200


def test_assertion_signed_by_an_unregistered_key_is_refused(http, sandbox, jwt_client):
    stranger = es384_key(kid="test-es384")  # same kid, different key: the signature cannot verify
    other_kid = es384_key(kid="not-registered")

    for key in (stranger, other_kid):
        signed = assertion(key, client_id=jwt_client, aud=sandbox.token_url)
        assert_refused(post_assertion(http, sandbox, signed), 401, "invalid_client")


def test_assertion_without_kid_is_refused(http, sandbox, jwt_client, es_key):
    signed = assertion(es_key, client_id=jwt_client, aud=sandbox.token_url, header={"kid": None})

    assert_refused(post_assertion(http, sandbox, signed), 401, "invalid_client")


def test_sub_different_from_iss_is_refused(http, sandbox, jwt_client, es_key):
    signed = assertion(es_key, client_id=jwt_client, aud=sandbox.token_url, sub="someone-else")

    assert_refused(post_assertion(http, sandbox, signed), 401, "invalid_client")


def test_unknown_client_is_refused(http, sandbox, es_key):
    signed = assertion(es_key, client_id="never-registered", aud=sandbox.token_url)

    assert_refused(post_assertion(http, sandbox, signed), 401, "invalid_client")


def test_scope_not_granted_to_the_client_is_refused(http, sandbox, jwt_client, es_key):
    signed = assertion(es_key, client_id=jwt_client, aud=sandbox.token_url)

    response = post_assertion(http, sandbox, signed, scope="system/Patient.read system/Observation.read")

    assert_refused(response, 400, "invalid_scope")
    assert "system/Observation.read" in response.json()["error_description"]


def test_v2_rs_scope_is_granted_from_a_v1_read_registration_and_not_the_reverse(http, sandbox, jwt_client, es_key):
    granted = post_assertion(
        http, sandbox, assertion(es_key, client_id=jwt_client, aud=sandbox.token_url), scope="system/Patient.rs"
    )
    write = post_assertion(
        http, sandbox, assertion(es_key, client_id=jwt_client, aud=sandbox.token_url), scope="system/Appointment.cruds"
    )

    assert granted.status_code == 200
    assert_refused(write, 400, "invalid_scope")


def test_other_grant_types_are_refused(http, sandbox, jwt_client, es_key):
    form = token_form(assertion(es_key, client_id=jwt_client, aud=sandbox.token_url), "system/Patient.read")

    response = http.post(sandbox.token_url, data={**form, "grant_type": "authorization_code"})

    assert_refused(response, 400, "unsupported_grant_type")


def test_client_secret_basic_and_post(http, sandbox):
    sandbox.register_client("gw-basic", scopes=SCOPES, auth="client_secret_basic", secret="s3cret:with/chars")
    sandbox.register_client("gw-post", scopes=SCOPES, auth="client_secret_post", secret="p0st")
    form = {"grant_type": "client_credentials", "scope": "system/Patient.read"}

    basic = http.post(sandbox.token_url, data=form, auth=("gw-basic", "s3cret:with/chars"))
    wrong = http.post(sandbox.token_url, data=form, auth=("gw-basic", "nope"))
    post = http.post(sandbox.token_url, data={**form, "client_id": "gw-post", "client_secret": "p0st"})
    basic_as_post = http.post(sandbox.token_url, data={**form, "client_id": "gw-basic", "client_secret": "x"})

    assert basic.status_code == 200
    assert_refused(wrong, 401, "invalid_client")
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    assert post.status_code == 200
    assert_refused(basic_as_post, 401, "invalid_client")


def test_jwks_url_is_cached_as_long_as_its_cache_control_allows(http, sandbox, jwks_server, es_key):
    jwks_server.jwks = public_jwks(es_key)
    jwks_server.cache_control = "public, max-age=300"
    sandbox.register_client("gw-url", scopes=SCOPES, jwks_url=jwks_server.url)

    for _ in range(3):
        response = post_assertion(http, sandbox, assertion(es_key, client_id="gw-url", aud=sandbox.token_url))
        assert response.status_code == 200, response.text

    assert jwks_server.fetches == 1


def test_jwks_url_marked_no_store_is_fetched_every_time(http, sandbox, jwks_server, es_key):
    jwks_server.jwks = public_jwks(es_key)
    jwks_server.cache_control = "no-store"
    sandbox.register_client("gw-url", scopes=SCOPES, jwks_url=jwks_server.url)

    for _ in range(2):
        assert (
            post_assertion(http, sandbox, assertion(es_key, client_id="gw-url", aud=sandbox.token_url)).status_code
            == 200
        )

    assert jwks_server.fetches == 2


def test_a_rotated_key_is_picked_up_from_the_jwks_url_despite_the_cache(http, sandbox, jwks_server, es_key):
    jwks_server.jwks = public_jwks(es_key)
    jwks_server.cache_control = "max-age=3600"
    sandbox.register_client("gw-url", scopes=SCOPES, jwks_url=jwks_server.url)
    assert (
        post_assertion(http, sandbox, assertion(es_key, client_id="gw-url", aud=sandbox.token_url)).status_code == 200
    )
    rotated = es384_key(kid="rotated")
    jwks_server.jwks = public_jwks(es_key, rotated)

    response = post_assertion(http, sandbox, assertion(rotated, client_id="gw-url", aud=sandbox.token_url))

    assert response.status_code == 200, response.text
    assert jwks_server.fetches == 2

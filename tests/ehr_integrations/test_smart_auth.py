"""Client assertions per SMART Backend Services, and the secret-based alternatives."""

import base64
import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from ehr_integrations.auth import signing_keys, smart_auth
from ehr_integrations.auth.connection_config import connection_config
from ehr_integrations.errors import EHRAuthError
from ehr_integrations.models import EHRConnection
from tests import builders

TOKEN_URL = "https://auth.example.org/oauth2/token"


def _config(**connection_fields):
    system = builders.health_system(
        fhir_base_url="https://fhir.example.org/R4", token_url=TOKEN_URL, **connection_fields
    )
    return connection_config(system), system


def _with_secret(system, secret: str):
    connection = EHRConnection.objects.get(health_system=system)
    connection.set_client_secret(secret)
    connection.save()
    return connection_config(system)


def _decoded(assertion: str, system):
    keys = KeySet.import_key_set({"keys": [k.public_jwk for k in signing_keys.published_keys(system)]})
    return jwt.decode(assertion, keys, algorithms=["ES384", "RS384"])


@pytest.mark.django_db
@pytest.mark.parametrize("algorithm", ["ES384", "RS384"])
def test_assertion_has_exactly_the_backend_services_claims(algorithm):
    config, system = _config(signing_algorithm=algorithm)
    token = _decoded(smart_auth.client_assertion(config), system)
    claims = token.claims
    assert token.header["alg"] == algorithm
    assert token.header["kid"] == config.signing_key.kid
    assert claims["iss"] == claims["sub"] == "gw-riverside"
    assert claims["aud"] == TOKEN_URL
    assert 0 < claims["exp"] - time.time() <= 300
    assert len(claims["jti"]) <= 151


@pytest.mark.django_db
def test_every_assertion_has_a_fresh_jti():
    config, _ = _config()
    jtis = {
        jwt.decode(smart_auth.client_assertion(config), _public(config), algorithms=["ES384"]).claims["jti"]
        for _ in range(50)
    }
    assert len(jtis) == 50


def _public(config):
    system_key = signing_keys.SigningKey.objects.get(kid=config.signing_key.kid)
    return KeySet.import_key_set({"keys": [system_key.public_jwk]})


@pytest.mark.django_db
def test_client_secret_basic_sends_form_encoded_credentials_in_the_header():
    _, system = _config(auth_method="client_secret_basic")
    form, headers, kid = smart_auth.token_request(_with_secret(system, "s3cret:with/odd chars"))
    scheme, encoded = headers["Authorization"].split()
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == "gw-riverside:s3cret%3Awith%2Fodd%20chars"
    assert "client_secret" not in form and "client_assertion" not in form and kid is None


@pytest.mark.django_db
def test_client_secret_post_sends_credentials_in_the_form():
    _, system = _config(auth_method="client_secret_post")
    form, headers, _ = smart_auth.token_request(_with_secret(system, "post-secret"))
    assert form["client_id"] == "gw-riverside" and form["client_secret"] == "post-secret"
    assert "Authorization" not in headers


@pytest.mark.django_db
def test_auth_none_is_refused_for_a_server_off_loopback():
    config, _ = _config(auth_method="none")
    with pytest.raises(EHRAuthError) as refused:
        smart_auth.requires_token(config)
    assert refused.value.error == "auth_none_not_allowed"


@pytest.mark.django_db
def test_auth_none_needs_no_token_on_loopback():
    system = builders.health_system(fhir_base_url="http://127.0.0.1:8081/fhir", auth_method="none")
    assert smart_auth.requires_token(connection_config(system)) is False


@pytest.mark.django_db
def test_the_secret_never_appears_in_the_config_repr():
    _, system = _config(auth_method="client_secret_basic")
    config = _with_secret(system, "never-print-me")
    assert "never-print-me" not in repr(config)
    assert config.client_secret == "never-print-me"


@pytest.mark.parametrize(
    ("scope", "granted"),
    [("system/Patient.rs system/Appointment.rs", "system/Patient.rs system/Appointment.rs"),
     (["system/Patient.rs", "system/Appointment.rs"], "system/Patient.rs system/Appointment.rs"),
     ("system/Patient.rs,system/Appointment.rs", "system/Patient.rs system/Appointment.rs"),
     ({"not": "a scope"}, ""), (None, "")],
)  # fmt: skip
def test_a_granted_scope_is_read_as_servers_send_it(scope, granted):
    assert smart_auth._granted(scope) == granted

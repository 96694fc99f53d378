"""The EHR address policy: internal addresses refused at save (by the URL's text) and at connect (resolved)."""

import asyncio
import ipaddress
import socket

import pytest
from django.core.exceptions import ValidationError

from ehr_integrations import address_policy
from ehr_integrations.auth.connection_config import connection_config
from ehr_integrations.errors import EHRRequestRejected, EHRUnavailable
from ehr_integrations.fhir.client import deadline_in, fhir_client
from ehr_integrations.models import EHRConnection, HealthSystem
from ehr_integrations.setup.config_as_code import YamlError, apply_text
from ehr_integrations.transport import io_loop
from ehr_integrations.transport.resolver import AddressRefused, PolicyResolver
from tests import builders
from tests.ehr_integrations.sandbox_systems import secret_system

# The probe's list, then the spellings an attacker tries next: every one names an internal service.
INTERNAL_URLS = [
    "http://127.0.0.1:6379",
    "http://127.0.0.1:5432",
    "http://[::1]/fhir",
    "http://127.9.9.9/fhir",
    "http://localhost/fhir",
    "https://169.254.169.254/latest/meta-data",
    "https://10.0.0.5/fhir",
    "https://metadata.google.internal/computeMetadata/v1",
    "https://127.1/fhir",
    "https://0x7f000001/fhir",
    "https://2130706433/fhir",
    "https://0177.0.0.1/fhir",
    "https://[::ffff:127.0.0.1]/fhir",
    "https://[::ffff:a9fe:a9fe]/fhir",
    "https://[64:ff9b::a9fe:a9fe]/fhir",
    "https://[2002:7f00:1::]/fhir",
    "https://0.0.0.0/fhir",
    "https://[::]/fhir",
    "https://LOCALHOST./fhir",
    "https://ehr.localhost/fhir",
    "https://METADATA.google.internal./fhir",
    "https://100.64.0.1/fhir",
    "https://192.168.1.10/fhir",
    "https://172.16.0.1/fhir",
    "https://[fd00:ec2::254]/fhir",
    "https://[fe80::1]/fhir",
    "https://224.0.0.1/fhir",
]


@pytest.fixture
def no_allowed_networks(settings):
    settings.EHR_ALLOWED_NETWORKS = []


def _save_errors(**fields) -> dict[str, list[str]]:
    system = HealthSystem(slug="x", name="X", vendor="generic", time_zone="America/New_York", **fields)
    with pytest.raises(ValidationError) as refused:
        system.full_clean()
    return refused.value.message_dict


@pytest.mark.django_db
@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_an_internal_fhir_base_url_is_refused_at_save_naming_the_rule(no_allowed_networks, url):
    messages = _save_errors(fhir_base_url=url)["fhir_base_url"]
    assert any(address_policy.RULE in m and "EHR_ALLOWED_NETWORKS" in m for m in messages), messages


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["https://127.0.0.1/token", "https://169.254.169.254/token", "http://fhir.example.org/t"]
)
def test_an_internal_or_plain_http_token_url_is_refused_at_save(no_allowed_networks, health_system, url):
    connection = EHRConnection.objects.get(health_system=health_system)
    connection.token_url = url
    with pytest.raises(ValidationError) as refused:
        connection.full_clean()
    assert address_policy.RULE in " ".join(refused.value.message_dict["token_url"])


@pytest.mark.django_db
def test_credentials_in_the_url_and_internal_confirmed_hosts_are_refused(no_allowed_networks):
    errors = _save_errors(fhir_base_url="https://user:pw@fhir.example.org/R4", extra_allowed_hosts="169.254.169.254")
    assert "credentials do not belong in the URL" in errors["fhir_base_url"][0]
    assert "cloud metadata" in errors["extra_allowed_hosts"][0]


@pytest.mark.django_db
def test_a_public_https_url_is_accepted(no_allowed_networks):
    system = HealthSystem(
        slug="x", name="X", vendor="generic", time_zone="America/New_York", fhir_base_url="https://fhir.example.org/R4"
    )
    system.full_clean()


def test_an_allowed_network_lets_an_on_premises_site_in_but_never_plain_http_or_metadata(settings):
    settings.EHR_ALLOWED_NETWORKS = ["10.0.0.0/8", "169.254.0.0/16"]
    assert address_policy.url_refusal("https://10.0.0.5/fhir") is None
    assert address_policy.url_refusal("http://10.0.0.5/fhir").code == "https_required"
    assert "never allowed" in address_policy.url_refusal("https://169.254.169.254/").reason
    assert address_policy.url_refusal("https://169.254.10.10/fhir") is None


def test_loopback_is_allowed_through_the_setting_alone(settings):
    settings.EHR_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert address_policy.url_refusal("http://127.0.0.1:8081/fhir") is None
    assert address_policy.url_refusal("http://localhost:8081/fhir") is None
    assert address_policy.url_refusal("http://[::1]:8081/fhir").code == "address_not_allowed"  # not listed
    settings.EHR_ALLOWED_NETWORKS = []
    assert address_policy.url_refusal("http://127.0.0.1:8081/fhir").code == "address_not_allowed"


@pytest.mark.django_db
def test_config_as_code_refuses_an_internal_url_naming_the_rule_and_the_field(no_allowed_networks):
    with pytest.raises(YamlError) as refused:
        apply_text("slug: intranet\nname: Intranet\nfhir_base_url: https://10.0.0.5/fhir\n")
    assert address_policy.RULE in str(refused.value) and "fhir_base_url" in str(refused.value)


@pytest.mark.django_db
def test_the_admin_refuses_an_internal_fhir_base_url(no_allowed_networks, client, onboarding_engineer, health_system):
    client.force_login(onboarding_engineer)
    response = client.post(
        f"/admin/ehr_integrations/healthsystem/{health_system.pk}/change/",
        {
            "slug": health_system.slug,
            "name": health_system.name,
            "vendor": "generic",
            "time_zone": "America/New_York",
            "fhir_base_url": "https://169.254.169.254/latest",
            "extra_allowed_hosts": "",
            "filler_phrases": "[]",
            "enabled": "on",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert address_policy.RULE in response.content.decode()
    health_system.refresh_from_db()
    assert health_system.fhir_base_url == "http://127.0.0.1:9/fhir"


# -- at connect time: the URL arrives another way (a queryset update, an old row, a DNS name) ------------


def _search(system: HealthSystem) -> None:
    client = fhir_client(connection_config(system))
    deadline = deadline_in(5)
    io_loop.wait(client.search("Patient", {"_count": "1"}, deadline=deadline, max_pages=1), deadline=deadline)


@pytest.mark.django_db
def test_a_literal_internal_address_that_skipped_the_save_check_is_refused_before_sending(sandbox, settings):
    system = secret_system(sandbox)
    settings.EHR_ALLOWED_NETWORKS = []
    with pytest.raises(EHRRequestRejected) as refused:
        _search(system)
    assert refused.value.reason == "address_not_allowed"
    assert sandbox.requests() == []


def _loopback_name() -> str | None:
    """A name other than localhost that this machine resolves to loopback only (its own host name)."""
    name = socket.gethostname()
    try:
        found = {info[4][0] for info in socket.getaddrinfo(name, 443, type=socket.SOCK_STREAM)}
    except socket.gaierror:
        return None
    return name if name != "localhost" and all(ipaddress.ip_address(a).is_loopback for a in found) else None


@pytest.mark.django_db
def test_a_dns_name_resolving_to_loopback_is_refused_at_connect(sandbox, settings):
    name = _loopback_name()
    if name is None:
        pytest.skip("this machine's host name does not resolve to loopback")
    port = sandbox.base_url.rsplit(":", 1)[1]
    system = secret_system(sandbox)
    HealthSystem.objects.filter(pk=system.pk).update(fhir_base_url=f"https://{name}:{port}/fhir")
    settings.EHR_ALLOWED_NETWORKS = []
    with pytest.raises(EHRRequestRejected) as refused:
        _search(HealthSystem.objects.get(pk=system.pk))
    assert refused.value.reason == "address_not_allowed"
    assert sandbox.requests() == []
    # Allowed, the same name gets through to the socket (and fails TLS: the sandbox speaks plain http).
    settings.EHR_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with pytest.raises(EHRUnavailable) as failed:
        _search(HealthSystem.objects.get(pk=system.pk))
    assert failed.value.reason in ("tls_error", "transport_error", "token_tls_error")


def _resolve(host: str, **options) -> list:
    async def run() -> list:
        resolver = PolicyResolver(**options)
        try:
            return await resolver.resolve(host, 443)
        finally:
            await resolver.close()

    return asyncio.run(run())


def test_the_resolver_refuses_a_name_when_any_address_is_internal(settings):
    settings.EHR_ALLOWED_NETWORKS = []
    with pytest.raises(AddressRefused) as refused:
        _resolve("localhost")
    assert "loopback" in refused.value.reason
    settings.EHR_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert {entry["host"] for entry in _resolve("localhost")} <= {"127.0.0.1"}


def test_the_resolver_lets_the_configured_egress_proxy_through(settings):
    settings.EHR_ALLOWED_NETWORKS = []
    assert _resolve("localhost", exempt=["localhost"])


def test_a_typo_in_the_allowed_networks_stops_the_process(monkeypatch):
    import subprocess
    import sys

    env = {"EHR_ALLOWED_NETWORKS": "10.0.0.0/33", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup()",
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=str(builders.__file__).rsplit("/tests/", 1)[0],
    )
    assert result.returncode != 0 and "EHR_ALLOWED_NETWORKS" in result.stderr

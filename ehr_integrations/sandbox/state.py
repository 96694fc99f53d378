"""Everything one running sandbox holds in memory, shared by its handlers."""

from dataclasses import dataclass, field
from types import ModuleType

from aiohttp import web

from ehr_integrations.sandbox.bundles import PageStore
from ehr_integrations.sandbox.clients import ClientRegistry
from ehr_integrations.sandbox.faults import FaultSet
from ehr_integrations.sandbox.jwks_cache import JWKSCache
from ehr_integrations.sandbox.population import Population
from ehr_integrations.sandbox.request_log import RequestLog
from ehr_integrations.sandbox.tokens import TokenStore


@dataclass
class StrictOptions:
    """What real sites do and the spec allows, switched on at run time (`PUT /_control/strict`).

    match: "ok"; "refused" (403 OperationOutcome: the site's grants do not cover it); "absent" (404,
    and the CapabilityStatement does not list it).
    """

    match: str = "ok"

    CHOICES = {"match": ("ok", "refused", "absent")}


@dataclass
class SandboxState:
    flavour: ModuleType
    population: Population
    tokens: TokenStore
    faults: FaultSet
    clients: ClientRegistry = field(default_factory=ClientRegistry)
    jwks_cache: JWKSCache = field(default_factory=JWKSCache)
    log: RequestLog = field(default_factory=RequestLog)
    pages: PageStore = field(default_factory=PageStore)
    strict: StrictOptions = field(default_factory=StrictOptions)
    base_url: str = ""

    @property
    def fhir_url(self) -> str:
        return f"{self.base_url}/fhir"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth2/token"


STATE = web.AppKey("sandbox_state", SandboxState)
LOG = web.AppKey("sandbox_request_log", RequestLog)
FAULTS = web.AppKey("sandbox_faults", FaultSet)

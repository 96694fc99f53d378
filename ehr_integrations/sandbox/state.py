"""Everything one running sandbox holds in memory, shared by its handlers."""

from dataclasses import dataclass, field
from types import ModuleType

from aiohttp import web

from ehr_integrations.sandbox import site_identifiers
from ehr_integrations.sandbox.bundles import PageStore
from ehr_integrations.sandbox.clients import ClientRegistry
from ehr_integrations.sandbox.faults import FaultSet
from ehr_integrations.sandbox.jwks_cache import JWKSCache
from ehr_integrations.sandbox.population import Population
from ehr_integrations.sandbox.request_log import RequestLog
from ehr_integrations.sandbox.schedule import ScheduleStore
from ehr_integrations.sandbox.strict import StrictOptions
from ehr_integrations.sandbox.tokens import TokenStore
from ehr_integrations.sandbox.written import WrittenStore


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
    written: WrittenStore = field(default_factory=WrittenStore)
    schedule: ScheduleStore = field(default_factory=ScheduleStore)  # slots and bookings (schedule.py)
    base_url: str = ""

    _site_flavour: ModuleType | None = field(default=None, init=False, repr=False)

    @property
    def served_flavour(self) -> ModuleType:
        """The flavour as the strict options change it (mrn_system=site wraps it, see site_identifiers)."""
        if self.strict.mrn_system == "flavour":
            return self.flavour
        if self._site_flavour is None:
            self._site_flavour = site_identifiers.overlay(self.flavour, self.population)
        return self._site_flavour

    @property
    def fhir_url(self) -> str:
        return f"{self.base_url}/fhir"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth2/token"


STATE = web.AppKey("sandbox_state", SandboxState)
LOG = web.AppKey("sandbox_request_log", RequestLog)
FAULTS = web.AppKey("sandbox_faults", FaultSet)

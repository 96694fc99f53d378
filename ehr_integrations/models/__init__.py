from ehr_integrations.models.connection import AuthMethod, EHRConnection, SigningAlgorithm
from ehr_integrations.models.health_system import HealthSystem, Vendor
from ehr_integrations.models.keys import KeyStatus, SigningKey
from ehr_integrations.models.mapping import FlatResource, MappingRule
from ehr_integrations.models.policy import VerificationPolicy
from ehr_integrations.models.scheduling import SchedulingRules
from ehr_integrations.models.transfer import Purpose, TransferTarget

__all__ = [
    "AuthMethod",
    "EHRConnection",
    "FlatResource",
    "HealthSystem",
    "KeyStatus",
    "MappingRule",
    "Purpose",
    "SchedulingRules",
    "SigningAlgorithm",
    "SigningKey",
    "TransferTarget",
    "Vendor",
    "VerificationPolicy",
]

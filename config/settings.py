"""One settings module, driven by the environment (django-environ).

With nothing set, the gateway runs on an embedded default that needs no external service:
SQLite, the local-memory cache, the in-memory channel layer and eager Celery tasks.
DATABASE_URL, REDIS_URL and CELERY_BROKER_URL switch it to Postgres, Redis and a real broker.
With DEBUG off, the secrets must come from the environment or the process refuses to start.
"""

import ipaddress
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

# Development-only fallbacks: production (DEBUG off) refuses to start without real values.
_DEV_SECRET = "embedded-development-only-secret-key-not-for-production-use-0123456789"
_DEV_FERNET = "ZW1iZWRkZWQtZGV2LWtleS1ub3QtZm9yLXByb2QtMDA="
_DEV_AUDIT_KEY = "embedded-development-only-audit-hmac-key"
_DEV_AUDIT_RECORD_KEY = "embedded-development-only-audit-record-key"
_DEV_AUDIT_CHECKPOINT_KEY = "ZW1iZWRkZWQtZGV2LW9ubHktY2hlY2twb2ludC1rZXk="  # base64 of a 32-byte Ed25519 seed


def _secret(name: str, dev_default: str) -> str:
    value = env.str(name, default="")
    if value:
        return value
    if not DEBUG:
        raise ImproperlyConfigured(f"{name} must be set when DEBUG is off")
    return dev_default


def _cidrs(name: str) -> list[str]:
    """A comma-separated list of networks (CIDRs); a typo stops the process instead of allowing nothing."""
    values = [value.strip() for value in env.list(name, default=[]) if value.strip()]
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {value!r} is not a network (CIDR such as 10.0.0.0/8)") from None
    return values


SECRET_KEY = _secret("SECRET_KEY", _DEV_SECRET)
# Fernet keys for secrets at rest, newest first; older keys still decrypt (rotation).
FIELD_ENCRYPTION_KEYS = _secret("FIELD_ENCRYPTION_KEYS", _DEV_FERNET).split(",")
AUDIT_HMAC_KEY = _secret("AUDIT_HMAC_KEY", _DEV_AUDIT_KEY)
# Keys of each audit record's MAC, newest first; older keys still verify (rotation over six years).
AUDIT_RECORD_KEY = _secret("AUDIT_RECORD_KEY", _DEV_AUDIT_RECORD_KEY).split(",")
# Ed25519 private key (base64 of the 32-byte seed) signing the chain-head checkpoints.
AUDIT_CHECKPOINT_KEY = _secret("AUDIT_CHECKPOINT_KEY", _DEV_AUDIT_CHECKPOINT_KEY)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "unfold",  # the admin theme (before django.contrib.admin): config/admin_theme.py
    "django.contrib.admin",
    "config.apps.StaffAccountsConfig",  # django.contrib.auth, named for staff
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "config.apps.ConfigurationHistoryConfig",  # auditlog
    "config.apps.ScheduledTasksConfig",  # django_celery_beat
    "audit",
    "compliance",
    "ehr_integrations",
    "calls",
]

MIDDLEWARE = [
    "config.proxy_trust.ProxyTrustMiddleware",  # first: forwarded headers only from TRUSTED_PROXY_CIDRS
    "calls.edges.limits.BodyLimitMiddleware",  # 413 before anything reads an oversized body
    "django.middleware.security.SecurityMiddleware",
    # Sessions, the user, messages, django-auditlog: staff pages only (config/staff_stack.py says why).
    "config.staff_stack.StaffSessions",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "config.staff_stack.StaffUser",
    "config.staff_stack.StaffMessages",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.staff_stack.StaffAuditlog",
]

ROOT_URLCONF = "config.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# An empty DATABASE_URL means the embedded default too.
DATABASES = {
    "default": env.db_url_config(env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
# The REST server's threads (config/rest_server.py) each keep their own connection, as long as CONN_MAX_AGE: no pool
# and no pool lock to queue on (issue 24). CONN_HEALTH_CHECKS=false skips the ping on each request's
# first query: a connection broken by a database restart then fails one request and is replaced.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
# Under ASGI each request runs in a thread of its own, so per-thread persistent connections cannot be
# reused: uvicorn (WebSocket, MCP) sets DATABASE_POOL_MAX_SIZE (a psycopg pool per process; CONN_MAX_AGE
# must be 0).
if env.int("DATABASE_POOL_MAX_SIZE", default=0) and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A pooled connection is not pinged before each use (a round trip on every request): one broken by
    # a database restart fails the one request that gets it (fail closed) and leaves the pool.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_POOL_CHECK", default=False)
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE"),
        "timeout": env.float("DATABASE_POOL_TIMEOUT_S", default=10.0),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="vgw"),
            # Values are JSON, never pickles: whoever can write to Redis cannot make the gateway run code
            # by planting a value. Version 2 since that change: the pickles of version 1 are never read.
            "VERSION": 2,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 2,
                # One connection per request thread, no pool lock per command (the module says why).
                "CONNECTION_POOL_CLASS": "ehr_integrations.transport.thread_affine.ThreadAffineConnectionPool",
                "CLIENT_CLASS": "ehr_integrations.transport.redis_client.GatewayClient",  # decodes faster
                "SERIALIZER": "django_redis.serializers.json.JSONSerializer",  # see VERSION
            },
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "calls.session.channel_layer.GatewayChannelLayer",  # one round trip to an empty group
            # A socket waits for events with a 5 s blocking pop (channels_redis' brpop_timeout); the client's
            # read timeout must outlast it, or every quiet socket is torn down (redis-py 8 defaults to 5 s).
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15, "socket_connect_timeout": 2}]},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL == "memory://")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Keep the LOGGING config (and its PHI redaction filter) in workers instead of Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Retries of a follow-up before it goes to staff (at most an hour apart: calls/tools/followups.py).
FOLLOWUP_MAX_ATTEMPTS = env.int("FOLLOWUP_MAX_ATTEMPTS", default=8)
CELERY_BEAT_SCHEDULE: dict = {
    "ehr-refresh-tokens": {
        "task": "ehr_integrations.tasks.refresh_expiring_tokens",
        "schedule": env.float("EHR_TOKEN_REFRESH_EVERY_S", default=30.0),
    },
    "ehr-rotate-signing-keys": {"task": "ehr_integrations.tasks.rotate_signing_keys", "schedule": 3600.0},
    "calls-end-abandoned": {"task": "calls.tasks.end_abandoned_calls", "schedule": 60.0},
    # A safety net: follow-ups queue their own retries (calls/tools/followups.py); this reclaims
    # claims whose worker died and re-enqueues retries that are overdue.
    "calls-retry-followups": {"task": "calls.tasks.retry_open_followups", "schedule": 60.0},
    "audit-seal": {"task": "audit.tasks.seal_audit_log", "schedule": env.float("AUDIT_SEAL_EVERY_S", default=5.0)},
    "audit-export-digest": {"task": "audit.tasks.export_audit_digest", "schedule": 3600.0},
    "audit-purge-expired": {"task": "audit.tasks.purge_expired_audit_records", "schedule": 24 * 3600.0},
    "compliance-baa-reminders": {"task": "compliance.tasks.send_baa_reminders", "schedule": 6 * 3600.0},
}

# Staff sign in at /admin/login/ only; unfold's login form carries no `next`, so say where to go.
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]  # the admin theme's additions (static/gateway/)
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
MEDIA_URL = "media/"

# Request bodies: 1 MiB at most (calls/edges/limits.py answers 413 first); query strings: few fields.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["calls.edges.api_auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["calls.edges.limits.LimitedJSONParser"],  # JSON nested at most 32 deep
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "calls.edges.envelope.exception_handler",
    "UNAUTHENTICATED_USER": None,
    # `?format=` belongs to the contract (GET /api/v1/tools?format=openai), not to DRF's renderer choice.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Voice EHR Gateway agent API",
    "DESCRIPTION": "The contract a voice agent backend codes against (docs/agent-api.md): every answer is an "
    "envelope with a top-level `status`; PHI only after verification, audited, never in URLs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its page are public; every operation in it needs an Api-Key.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",  # served from drf-spectacular-sidecar, no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every envelope's `status` is a one-value enum: name each after its value.
    "ENUM_NAME_OVERRIDES": {
        f"{status.title().replace('_', '')}StatusEnum": [status]
        for status in (
            "ok",
            "pending",
            "needs_more",
            "verified",
            "not_verified",
            "escalate",
            "unavailable",
            "ended",
            "error",
        )
    }
    | {
        # Two `state` fields: a call's, and a write's (refill requests, care-team messages).
        "CallStateEnum": ["unverified", "verified", "escalated", "ended"],
        "WriteStateEnum": ["sent", "queued"],
    },
}

# Gateway behaviour.
# The largest answer read from an EHR (ehr_integrations/transport/http.py): a FHIR page of a hundred
# resources is well under 1 MB; a hostile or broken server sending more is cut off, not buffered.
EHR_MAX_RESPONSE_BYTES = env.int("EHR_MAX_RESPONSE_BYTES", default=16 << 20)
SANDBOX_URL = env.str("SANDBOX_URL", default="")
SESSION_IDLE_TTL_SECONDS = env.int("SESSION_IDLE_TTL_SECONDS", default=30 * 60)
# How long a process trusts its copy of configuration and API keys (ehr_integrations/transport/local_cache.py).
LOCAL_CACHE_SECONDS = env.float("LOCAL_CACHE_SECONDS", default=5.0)
# How long a verify turn waits for the EHR before answering `pending` (`?wait=0`) or `unavailable`:
# a caller left in silence longer hangs up (calls/verification/pending_turns.py).
VERIFY_VOICE_DEADLINE_S = env.float("VERIFY_VOICE_DEADLINE_S", default=2.5)
# Failed verification turns an hour per claimed identity and per agent client (calls/verification/claims.py).
# New writes one call may make per write tool (a retry of the same write is not a new one): a caller,
# or an agent client looping, cannot flood the care team's inbox or the refill desk (issue 21).
WRITES_PER_CALL = {
    "refill-requests": env.int("WRITES_PER_CALL_REFILLS", default=10),
    "care-team-messages": env.int("WRITES_PER_CALL_MESSAGES", default=3),
    "appointments": env.int("WRITES_PER_CALL_BOOKINGS", default=3),  # bookings, reschedules included
    "holds": env.int("WRITES_PER_CALL_HOLDS", default=3),  # $hold on read-backs, where the EHR holds times
}
VERIFY_BUDGET_PER_DOB = env.int("VERIFY_BUDGET_PER_DOB", default=10)
VERIFY_BUDGET_PER_MRN = env.int("VERIFY_BUDGET_PER_MRN", default=5)
VERIFY_BUDGET_PER_DOB_NAME = env.int("VERIFY_BUDGET_PER_DOB_NAME", default=5)
VERIFY_BUDGET_PER_AGENT = env.int("VERIFY_BUDGET_PER_AGENT", default=200)

# EHR address policy (ehr_integrations/address_policy.py): networks besides the public
# internet an EHR or token URL may point at. Empty in production; the sandbox, tests, bench and demo
# use 127.0.0.0/8; an on-premises site lists its network.
EHR_ALLOWED_NETWORKS = _cidrs("EHR_ALLOWED_NETWORKS")
# Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (config/proxy_trust.py); empty: none.
TRUSTED_PROXY_CIDRS = _cidrs("TRUSTED_PROXY_CIDRS")

# EHR connectivity (ehr_integrations: token_cache, signing_keys, jwks). Short values in tests only.
EHR_TOKEN_MIN_REFRESH_INTERVAL_S = env.float("EHR_TOKEN_MIN_REFRESH_INTERVAL_S", default=60.0)
EHR_TOKEN_REFRESH_AHEAD = env.float("EHR_TOKEN_REFRESH_AHEAD", default=0.25)  # share of lifetime left
EHR_TOKEN_FAILURE_BACKOFF_S = env.float("EHR_TOKEN_FAILURE_BACKOFF_S", default=10.0)
EHR_TOKEN_REFRESH_EVERY_S = env.float("EHR_TOKEN_REFRESH_EVERY_S", default=30.0)
SIGNING_KEY_GRACE_S = env.float("SIGNING_KEY_GRACE_S", default=24 * 3600.0)  # published before signing
SIGNING_KEY_RETIRE_AFTER_S = env.float("SIGNING_KEY_RETIRE_AFTER_S", default=24 * 3600.0)
SIGNING_KEY_MAX_AGE_DAYS = env.int("SIGNING_KEY_MAX_AGE_DAYS", default=90)
JWKS_MAX_AGE_S = env.int("JWKS_MAX_AGE_S", default=3600)  # must stay below SIGNING_KEY_GRACE_S
EHR_BREAKER_TRANSITIONS_KEPT = env.int("EHR_BREAKER_TRANSITIONS_KEPT", default=20)
AUDIT_DIGEST_DIR = env.path("AUDIT_DIGEST_DIR", default=BASE_DIR / "var" / "audit-digests")
# PHI access log (audit/): records unsealed after the grace are flagged; retention is at least 6 years.
AUDIT_SEAL_GRACE_S = env.int("AUDIT_SEAL_GRACE_S", default=300)
AUDIT_SEAL_LOOKBACK_S = env.int("AUDIT_SEAL_LOOKBACK_S", default=24 * 3600)
AUDIT_RETENTION_YEARS = env.int("AUDIT_RETENTION_YEARS", default=6)
# Checkpoints (audit/checkpoints.py): after every seal and at least this often; a second directory
# (another mount) may witness them; retired signing keys' public halves (base64) still verify.
AUDIT_SEAL_EVERY_S = env.float("AUDIT_SEAL_EVERY_S", default=5.0)
AUDIT_CHECKPOINT_EVERY_S = env.float("AUDIT_CHECKPOINT_EVERY_S", default=60.0)
AUDIT_CHECKPOINT_WITNESS_DIR = env.str("AUDIT_CHECKPOINT_WITNESS_DIR", default="")
AUDIT_CHECKPOINT_PUBLIC_KEYS = env.list("AUDIT_CHECKPOINT_PUBLIC_KEYS", default=[])
BAA_REMINDER_DAYS = (60, 30, 7)
# Resolves the patient access report's MRN and header through the EHR (audit/patient_directory.py).
AUDIT_PATIENT_DIRECTORY = "ehr_integrations.setup.patient_directory"
# The compliance dashboard's "unusual patterns" (compliance/dashboard.py; issue 23's two rules).
UNUSUAL_DISTINCT_PATIENTS_PER_HOUR = env.int("UNUSUAL_DISTINCT_PATIENTS_PER_HOUR", default=50)
UNUSUAL_AFTER_HOURS_FACTOR = env.float("UNUSUAL_AFTER_HOURS_FACTOR", default=2.0)
# After hours are [start, end) o'clock in each health system's own time zone, wrapping midnight.
UNUSUAL_AFTER_HOURS_START = env.int("UNUSUAL_AFTER_HOURS_START", default=22)
UNUSUAL_AFTER_HOURS_END = env.int("UNUSUAL_AFTER_HOURS_END", default=6)
COMPLIANCE_NOTIFY_EMAILS = env.list("COMPLIANCE_NOTIFY_EMAILS", default=[])
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="gateway@localhost")
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# Error reports never carry request bodies or local variables (compliance/error_reports.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "compliance.error_reports.PhiSafeExceptionReporterFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"phi_redaction": {"()": "compliance.phi_logging.PhiRedactionFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["phi_redaction"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # httpx (the demo's agent and the tests' clients) logs every request URL at INFO; URLs can carry identifiers.
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},  # logs every step of every PDF at INFO
        "fontTools": {"level": "WARNING"},
    },
}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

from config.admin_theme import UNFOLD  # noqa: E402, F401  (the branded admin: title, sidebar, colours)

# django-auditlog: who changed which configuration field, and when. Secrets are never diffed.
AUDITLOG_INCLUDE_TRACKING_MODELS = (
    "ehr_integrations.HealthSystem",
    {"model": "ehr_integrations.EHRConnection", "exclude_fields": ["client_secret_encrypted", "discovery"]},
    "ehr_integrations.VerificationPolicy",
    "ehr_integrations.TransferTarget",
    "ehr_integrations.MappingRule",
    {"model": "ehr_integrations.SigningKey", "exclude_fields": ["private_key_encrypted"]},
    "calls.AgentClient",
    {"model": "calls.ApiKey", "exclude_fields": ["key_hash"]},
    "compliance.BusinessAssociate",
    {"model": "compliance.BusinessAssociateAgreement", "m2m_fields": ["health_systems"]},
)

"""Settings shared by every environment. Every value comes from the environment.

Environment-specific modules (local, test, production) import this and override only what differs.
"""

import ipaddress
import socket
from pathlib import Path
from urllib.parse import unquote, urlsplit

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

# --- Core -------------------------------------------------------------------------------------
SECRET_KEY = env("SECRET_KEY", default="insecure-local-only-secret-key-change-me-0123456789abcdef")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_ID = 1
SITE_NAME = env("SITE_NAME", default="PaaS Portal")
# The portal's public address, for links in emails sent outside a request (invitations).
PORTAL_URL = env("PORTAL_URL", default="http://127.0.0.1:8000").rstrip("/")
# A release that degrades (crash loop, out of memory, never ready) this soon after it went live is
# rolled back where the environment's deploy settings roll back automatically.
DEGRADED_ROLLBACK_SECONDS = env.int("DEGRADED_ROLLBACK_SECONDS", default=600)
# Self-heal waits this long after drift appears before re-applying, so a person's change is not fought.
SELF_HEAL_GRACE_SECONDS = env.int("SELF_HEAL_GRACE_SECONDS", default=30)
# An incident resolves by itself once its cause has stayed away this long: a crash-looping pod runs
# between its crashes (the kubelet's back-off reaches five minutes), which is not a cure.
INCIDENT_RESOLVE_AFTER_SECONDS = env.int("INCIDENT_RESOLVE_AFTER_SECONDS", default=300)
# Opening one workload reads the cluster again unless a read is younger than this (the watcher keeps
# reads current as the cluster changes; this bounds what a page reloaded in a loop asks of the cluster).
WORKLOAD_FRESH_SECONDS = env.float("WORKLOAD_FRESH_SECONDS", default=5.0)

INSTALLED_APPS = [
    "django_prometheus",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django.forms",  # its widget templates, found through TEMPLATES by FORM_RENDERER
    # Third party
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "channels",
    "csp",
    # Ours, in dependency order (DESIGN.md section 3)
    "apps.core",
    "apps.accounts",
    "apps.tenants",
    "apps.apikeys",
    "apps.audit",
    "apps.clusters",
    "apps.catalog",
    "apps.deployments",
    "apps.workloads",
    "apps.builds",
    "apps.approvals",
    "apps.marketplace",
    "apps.traffic",
    "apps.cmdb",
    "apps.webhooks",
    "apps.operator",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "apps.core.middleware.RequestIDMiddleware",
    "apps.core.middleware.RejectNulMiddleware",
    "apps.core.middleware.APIBodySizeMiddleware",
    "apps.traffic.middleware.GatewayCheckMiddleware",
    "apps.apikeys.middleware.APIUsageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "apps.accounts.middleware.IdPFormActionMiddleware",
    "apps.core.middleware.FriendlyErrorsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "apps.accounts.middleware.UserSessionActivityMiddleware",  # allauth's, writing once a minute
    "apps.core.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

# Form widgets render through the project's template engine, so templates/django/forms/ can replace one
# of Django's widget templates (the select: its options written inline).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
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
                "apps.core.context_processors.portal",
                "apps.tenants.context_processors.tenants",
            ],
        },
    },
]

# --- Database: PostgreSQL only ----------------------------------------------------------------
# make run / make test set DATABASE_URL to the embedded server when none is configured.
DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/portal")}
DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
# A Unix socket directory is given URL-encoded as the host (postgres://user@%2Fpath%2Fto%2Fdir/db).
DATABASES["default"]["HOST"] = unquote(DATABASES["default"].get("HOST", ""))
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DATABASE_CONNECT_TIMEOUT", default=3)
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The web process's requests share a pool of connections (psycopg_pool, through Django) of at most this
# many. Under ASGI each request's synchronous code runs in a thread of its own, so without a pool every
# request opens a connection (a PostgreSQL backend started for it, about 7 ms) and closes it, and
# connections kept per thread pile up (docs/scaling.md). 0, the default: no pool (workers, commands).
DATABASE_POOL_SIZE = env.int("DATABASE_POOL_SIZE", default=0)
if DATABASE_POOL_SIZE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them; Django refuses both
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_SIZE,
        # A request waits this long for a connection when all are in use, then fails (500).
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache (rate limits), channel layer, Celery broker ---------------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="portal"),
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}
# The layer waits for messages with a blocking read of 5 s (BZPOPMIN, channels_redis' brpop_timeout) that
# Redis itself ends, so its reads need no socket timeout of their own; one shorter than that wait closed quiet
# browser sockets. It must not have one either: with a socket timeout, redis-py sends each command through
# asyncio.wait_for, which on Python 3.11 drops a cancellation that arrives as the send completes, so a consumer
# whose browser left while its connection was being set up kept reading the layer for ever. TCP keepalive
# still notices a Redis gone from the network within about 25 s.
CHANNEL_LAYER_HOST = {
    "address": REDIS_URL,
    "socket_timeout": None,
    "socket_connect_timeout": 2,
    "socket_keepalive": True,
    "socket_keepalive_options": {socket.TCP_KEEPIDLE: 10, socket.TCP_KEEPINTVL: 5, socket.TCP_KEEPCNT: 3},
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [CHANNEL_LAYER_HOST],
            "prefix": env("CHANNEL_LAYER_PREFIX", default="portal:asgi"),
        },
    }
}

# --- Celery (DESIGN.md section 5: reliability over throughput) --------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
# kombu's Redis transport with the worker kept alive through broker outages (apps/core/broker.py).
CELERY_BROKER_TRANSPORT = "apps.core.broker:Transport"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# Ack after the task ran, and redeliver when the worker dies mid-task; tasks are idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Tasks are short; anything near these limits is a bug, not a slow cluster.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
# Unacked messages come back after this; every countdown we use stays far below it.
# Sends give up within seconds when Redis stalls (a paused server accepts connections and never
# answers), so a request is not held for the kernel's TCP timeout; the nudge is dropped and swept up.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_timeout": 3, "socket_connect_timeout": 3}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# When the broker goes away, its unacknowledged messages are restored for redelivery; a task still
# running then would be acked on a dead channel, which kills the worker (kombu's Redis transport
# raises AttributeError there). Tasks are short and idempotent, so cancel them: they run again.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Keep retrying the broker for as long as it takes; a worker that gives up is an outage of its own.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="portal")
CELERY_BEAT_SCHEDULER = "apps.core.beat:LeaderScheduler"
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "apps.core.tasks.heartbeat", "schedule": 30.0},
    "deployments-reconcile": {"task": "apps.deployments.tasks.reconcile_deployments", "schedule": 30.0},
    "deployments-admit": {"task": "apps.deployments.tasks.admit_waiting", "schedule": 5.0},
    "approvals-expire": {"task": "apps.approvals.tasks.expire_change_requests", "schedule": 60.0},
    "approvals-unfinished": {"task": "apps.approvals.tasks.finish_unfinished_change_requests", "schedule": 120.0},
    "deployments-strategies-tidy": {"task": "apps.deployments.strategies.tasks.tidy_strategies", "schedule": 15.0},
    "cmdb-discovery": {
        "task": "apps.cmdb.tasks.discover_all",
        "schedule": env.float("CMDB_DISCOVER_EVERY", default=300.0),
    },
    "apikeys-flush-usage": {"task": "apps.apikeys.tasks.flush_api_usage", "schedule": 60.0},
    "apikeys-lifecycle": {"task": "apps.apikeys.tasks.api_key_lifecycle", "schedule": 3600.0},
    "webhooks-housekeeping": {"task": "apps.webhooks.tasks.webhooks_housekeeping", "schedule": 60.0},
    "builds-sweep": {"task": "apps.builds.tasks.sweep_builds", "schedule": 15.0},
    "images-prune": {
        "task": "apps.builds.tasks.prune_images",
        "schedule": env.float("IMAGE_PRUNE_EVERY", default=3600.0),
    },
    "addons-sweep": {"task": "apps.marketplace.tasks.sweep_instances", "schedule": 60.0},
    "addons-usage": {"task": "apps.marketplace.tasks.sample_usage", "schedule": 300.0},
    "traffic-maintenance-windows": {"task": "apps.traffic.tasks.maintenance_windows", "schedule": 30.0},
    "clusters-check": {
        "task": "apps.clusters.tasks.check_clusters",
        "schedule": env.float("CLUSTER_CHECK_EVERY", default=300.0),
    },
}
CELERY_TIMEZONE = "UTC"
# Deployments a tenant has in flight at once unless its "deployments at once" quota says otherwise;
# the rest wait their turn, so one tenant's burst does not hold up everyone else (docs/fairness.md).
DEPLOYMENT_CONCURRENCY_PER_TENANT = env.int("DEPLOYMENT_CONCURRENCY_PER_TENANT", default=10)
# Seconds between the scheduled looks at a rollout. The lifecycle watcher asks for a look as soon as a
# rollout's objects change, so these only catch what a missed watch event or a timed step needs.
DEPLOYMENT_OBSERVE_SECONDS = env.float("DEPLOYMENT_OBSERVE_SECONDS", default=5.0)
# Longest wait (seconds) before a deployment step retries after a transient cluster failure.
DEPLOYMENT_RETRY_MAX_SECONDS = env.float("DEPLOYMENT_RETRY_MAX_SECONDS", default=15.0)
# CMDB discovery: minutes unseen before a discovered item or edge is stale, and then retired.
CMDB_STALE_AFTER = env.int("CMDB_STALE_AFTER", default=30)
CMDB_RETIRE_AFTER = env.int("CMDB_RETIRE_AFTER", default=7 * 24 * 60)
# CMDB imports: the largest upload (bytes, else 413), the most rows of one import (else 400), and the
# most rows answered while the request waits; larger imports run as a background job.
CMDB_IMPORT_MAX_BYTES = env.int("CMDB_IMPORT_MAX_BYTES", default=5 * 1024 * 1024)
CMDB_IMPORT_MAX_ROWS = env.int("CMDB_IMPORT_MAX_ROWS", default=20_000)
CMDB_IMPORT_SYNC_ROWS = env.int("CMDB_IMPORT_SYNC_ROWS", default=500)
# Beat and the lifecycle watcher run with several replicas, one of which leads: it renews a lease of
# this many seconds every third of it, and a standby takes over once the lease has run out.
LEADER_LEASE_SECONDS = env.float("LEADER_LEASE_SECONDS", default=15.0)
# A heartbeat older than this makes the readiness page report the workers as stale.
HEARTBEAT_STALE_AFTER_SECONDS = env.int("HEARTBEAT_STALE_AFTER_SECONDS", default=120)

# --- Accounts (django-allauth) ----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_ADAPTER = "apps.accounts.adapters.AccountAdapter"
ACCOUNT_FORMS = {"signup": "apps.accounts.forms.SignupForm"}
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
# A re-authentication (the step-up before deciding on a change request, minting a deciding key, ...)
# holds this long, so an approver deciding on several requests in a row types the password once.
ACCOUNT_REAUTHENTICATION_TIMEOUT = env.int("REAUTHENTICATION_TIMEOUT", default=15 * 60)
# Rate limits live in the Redis cache, so they hold across every web process.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": env("LOGIN_FAILED_RATE_LIMIT", default="10/m/ip,5/5m/key"),
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "reauthenticate": "10/m/user",
}
MFA_ADAPTER = "apps.accounts.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME
MFA_RECOVERY_CODE_COUNT = 10
USERSESSIONS_TRACK_ACTIVITY = True  # "last seen" to the minute (apps/accounts/middleware.py)

# --- Single sign-on (OpenID Connect through allauth) ------------------------------------------------
# One identity provider (Keycloak, Okta, Entra ID, Google or any standards IdP), configured by environment
# here or, where SSO_SERVER_URL is empty, by operators in the console (/operator/sso/, apps/accounts/idp.py;
# the environment wins where both are set). The IdP's groups (the claim SSO_GROUPS_CLAIM; Entra sends group
# object ids, Google none) become tenant roles through SSO_GROUP_ROLES, "group=tenant/role" pairs, applied at every
# login and taken away when the group is gone (apps/tenants/sso.py). Password sign-in can be switched
# off for the company's domains, whose people then sign in only through the IdP.
SSO_SERVER_URL = env("SSO_SERVER_URL", default="")
SSO_NAME = env("SSO_NAME", default="Single sign-on")
SSO_GROUPS_CLAIM = env("SSO_GROUPS_CLAIM", default="groups")
SSO_GROUP_ROLES = env("SSO_GROUP_ROLES", default="")
SSO_ONLY_DOMAINS = env.list("SSO_ONLY_DOMAINS", default=[])
SOCIALACCOUNT_ADAPTER = "apps.tenants.sso.SocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        # The IdP vouches for the address (email_verified), so no second verification mail.
        "VERIFIED_EMAIL": True,
        # Most IdPs send groups only when asked for them by a scope of that name (Keycloak, Okta).
        "SCOPE": env.list("SSO_SCOPES", default=["openid", "profile", "email", "groups"]),
        "APPS": [
            {
                "provider_id": "sso",
                "name": SSO_NAME,
                "client_id": env("SSO_CLIENT_ID", default=""),
                "secret": env("SSO_CLIENT_SECRET", default=""),
                "settings": {"server_url": SSO_SERVER_URL, "oauth_pkce_enabled": True},
            }
        ]
        if SSO_SERVER_URL
        else [],
    }
}
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True  # an IdP login finds the account with that verified address
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_STORE_TOKENS = False  # the portal never calls the IdP's APIs for the user
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)

# --- Email ------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="PaaS Portal <portal@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Field encryption (cluster credentials and other secrets at rest) ------------------------
# Comma-separated Fernet keys, newest first; older keys still decrypt during rotation.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=["bG9jYWwtb25seS1maWVsZC1rZXktY2hhbmdlLW1lISE="])

# --- Clusters ---------------------------------------------------------------------------------
# Where make run's sandbox cluster listens; seed_demo registers it as the default cluster.
SANDBOX_CLUSTER_URL = env("SANDBOX_CLUSTER_URL", default="")
# Whether operators may register a cluster of the "sandbox" kind: a development tool that is not in
# the production image and checks no credentials. Local and test settings turn it on.
SANDBOX_CLUSTERS_ALLOWED = env.bool("SANDBOX_CLUSTERS_ALLOWED", default=False)

# The Pod Security Standard every tenant namespace enforces (its pod-security.kubernetes.io/enforce label):
# privileged, baseline or restricted; empty leaves the namespaces unlabelled (the cluster's default).
TENANT_POD_SECURITY = env("TENANT_POD_SECURITY", default="baseline")
if TENANT_POD_SECURITY not in ("", "privileged", "baseline", "restricted"):
    raise environ.ImproperlyConfigured("TENANT_POD_SECURITY is privileged, baseline, restricted or empty.")

# --- Names the platform owns (docs/security.md, "Names are claims") ----------------------------
# The namespace the portal itself runs in; never handed to a tenant.
PORTAL_NAMESPACE = env("PORTAL_NAMESPACE", default="paas-portal")
# Namespaces no environment may take (shell-style patterns). RESERVED_NAMESPACES adds to the list.
RESERVED_NAMESPACES = [
    "kube-*",
    "default",
    PORTAL_NAMESPACE,
    "ingress-nginx",
    "cert-manager",
    "gateway-system",
    "envoy-gateway-system",
    "istio-system",
    "openshift",
    "openshift-*",
    "local-path-storage",
    *env.list("RESERVED_NAMESPACES", default=[]),
]
# Host names and domain suffixes no tenant may route (besides the portal's own hosts and the
# domains operators reserve in the console).
# Cluster-internal names and wildcard-DNS services are never a tenant's; RESERVED_HOSTS adds to them.
RESERVED_HOSTS = [
    "cluster.local",
    "svc",
    "local",
    "internal",
    "localhost",
    "home.arpa",
    "nip.io",
    "sslip.io",
    *env.list("RESERVED_HOSTS", default=[]),
]

# --- Traffic (docs/traffic.md) ----------------------------------------------------------------
# The static web server that answers for routes in maintenance or degraded (apps/traffic/maintenance.py):
# an nginx image that runs as a non-root user and listens on 8080. Mirror it for air-gapped clusters.
MAINTENANCE_IMAGE = env("MAINTENANCE_IMAGE", default="nginxinc/nginx-unprivileged:1.27-alpine")

# --- API keys ---------------------------------------------------------------------------------
# The server-side pepper of the HMAC that stores API keys. Changing it invalidates every key.
API_KEY_PEPPER = env("API_KEY_PEPPER", default="local-only-api-key-pepper-change-me")
# Failed key authentications (unknown, wrong, revoked or expired keys; keys used from a refused
# address) allowed per client address in a window; past that, every key attempt from the address
# is answered 429 until the window ends, so keys cannot be guessed at speed.
API_AUTH_FAILURES_PER_IP = env.int("API_AUTH_FAILURES_PER_IP", default=20)
API_AUTH_FAILURE_WINDOW_SECONDS = env.int("API_AUTH_FAILURE_WINDOW_SECONDS", default=60)

# --- Client addresses (apps/core/client_ip.py) ------------------------------------------------
# Proxies whose X-Forwarded-For is believed, as addresses or CIDRs; none by default, so the TCP peer
# is the client. Behind an ingress controller: the range its pods connect from. The client is the
# right-most X-Forwarded-For address that is not a trusted proxy; a wrong entry stops the start.
TRUSTED_PROXIES = [
    str(ipaddress.ip_network(entry.strip(), strict=False))
    for entry in env.list("TRUSTED_PROXIES", default=[])
    if entry.strip()
]

# --- API rate limits, quotas and usage (docs/architecture.md, "Rate limits and plans") --------
API_RATE_LIMITS_ENABLED = env.bool("API_RATE_LIMITS_ENABLED", default=True)
# Buckets, quota and usage counters live here. When it is unreachable, API calls pass (fail open).
API_RATE_LIMIT_REDIS_URL = env("API_RATE_LIMIT_REDIS_URL", default=REDIS_URL)
API_RATE_LIMIT_REDIS_TIMEOUT = env.float("API_RATE_LIMIT_REDIS_TIMEOUT", default=0.25)
# How long a web process keeps a tenant's plan before reading it again (changes made in the same
# process apply at once).
API_PLAN_CACHE_SECONDS = env.int("API_PLAN_CACHE_SECONDS", default=30)
# The plan of a tenant without one when no plan is marked default (a migration creates "Standard").
API_FALLBACK_PLAN = {
    "requests_per_second": env.int("API_FALLBACK_RPS", default=50),
    "burst": env.int("API_FALLBACK_BURST", default=100),
    "tenant_requests_per_second": env.int("API_FALLBACK_TENANT_RPS", default=100),
    "tenant_burst": env.int("API_FALLBACK_TENANT_BURST", default=200),
    "daily_quota": env.int("API_FALLBACK_DAILY_QUOTA", default=1_000_000) or None,
    "monthly_quota": env.int("API_FALLBACK_MONTHLY_QUOTA", default=20_000_000) or None,
}
# Tenants are told once per period when their requests pass this share of a quota, and at 100 %.
API_QUOTA_WARNING_PERCENT = env.int("API_QUOTA_WARNING_PERCENT", default=80)

# --- The gateway's consumer-key check (apps/traffic/gateway.py) --------------------------------
# Where traffic controllers ask whether a consumer key may pass (ingress-nginx's auth-url): a URL
# the controller reaches, often the portal's in-cluster Service rather than its public address.
GATEWAY_VERIFY_URL = env("GATEWAY_VERIFY_URL", default=f"{PORTAL_URL}/api/v1/gateway/verify/")
# How long Redis keeps a key's or a route's entry for the check; changes rewrite the entry at once.
GATEWAY_CACHE_SECONDS = env.int("GATEWAY_CACHE_SECONDS", default=300)
# The numbers of a consumer key without a usage plan (its plan is called "default").
CONSUMER_KEY_DEFAULT_LIMITS = {
    "requests_per_second": env.int("CONSUMER_KEY_DEFAULT_RPS", default=10),
    "burst": env.int("CONSUMER_KEY_DEFAULT_BURST", default=20),
    "daily_quota": env.int("CONSUMER_KEY_DEFAULT_DAILY_QUOTA", default=0) or None,
    "monthly_quota": env.int("CONSUMER_KEY_DEFAULT_MONTHLY_QUOTA", default=0) or None,
}

# --- Add-ons (apps/marketplace) -----------------------------------------------------------------
# The shared servers `make run` starts for the demo add-ons (portal/addon_servers.py); empty elsewhere.
ADDON_DEMO_POSTGRES_URL = env("ADDON_DEMO_POSTGRES_URL", default="")
ADDON_DEMO_REDIS_URL = env("ADDON_DEMO_REDIS_URL", default="")
# After a binding's credentials rotate, the old ones keep working this long while the pods restart.
ADDON_ROTATION_OVERLAP_SECONDS = env.int("ADDON_ROTATION_OVERLAP_SECONDS", default=600)

# --- Outbound webhooks (docs/webhooks.md) ----------------------------------------------------
# Seconds to wait before each retry; a delivery gets one attempt more than there are steps.
WEBHOOK_RETRY_SCHEDULE = env.list("WEBHOOK_RETRY_SCHEDULE", cast=float, default=[10, 60, 300, 1800, 7200])
# Deliveries failing for good in a row before an endpoint is disabled (its admins are emailed).
WEBHOOK_DISABLE_AFTER = env.int("WEBHOOK_DISABLE_AFTER", default=10)
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env.float("WEBHOOK_CONNECT_TIMEOUT_SECONDS", default=3.0)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Retries due sooner than this are queued with a countdown; later ones are sent by the minute sweeper
# (countdowns stay far below the broker's visibility timeout).
WEBHOOK_MAX_COUNTDOWN_SECONDS = env.float("WEBHOOK_MAX_COUNTDOWN_SECONDS", default=300.0)
WEBHOOK_SWEEP_GRACE_SECONDS = env.float("WEBHOOK_SWEEP_GRACE_SECONDS", default=15.0)
WEBHOOK_RETENTION_DAYS = env.int("WEBHOOK_RETENTION_DAYS", default=30)
WEBHOOK_MAX_ENDPOINTS_PER_TENANT = env.int("WEBHOOK_MAX_ENDPOINTS_PER_TENANT", default=20)
# Let every endpoint reach private, loopback and link-local addresses. Off: only an operator's
# per-endpoint "allow private" does (for receivers inside the platform's own network).
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)

# --- Builds (apps/builds) ---------------------------------------------------------------------
# The Docker engine builds run on (the SDK's DOCKER_HOST: unix:// or tcp:// with TLS through DOCKER_TLS_VERIFY
# and DOCKER_CERT_PATH) and the registry images are pushed to (`http(s)://host[:port]`); `make run` starts
# both under var/ when unset. Without them the portal runs and refuses builds with a message saying why.
DOCKER_HOST = env("DOCKER_HOST", default="")
REGISTRY_URL = env("REGISTRY_URL", default="").rstrip("/")
REGISTRY_USERNAME = env("REGISTRY_USERNAME", default="")
REGISTRY_PASSWORD = env("REGISTRY_PASSWORD", default="")
# The registry's token authentication (Docker Registry v2 "token" auth) with the portal as the issuer:
# the registry's `auth.token` names REGISTRY_TOKEN_REALM (the portal's /registry/token/), the service
# and issuer below, and a rootcertbundle holding `manage.py registry_token_cert`. The signing key is
# kept Fernet-encrypted (FIELD_ENCRYPTION_KEYS) in REGISTRY_TOKEN_KEY_FILE, made on first use; every
# web and worker host needs the same file. Off (False) for a registry that takes REGISTRY_USERNAME and
# REGISTRY_PASSWORD instead.
REGISTRY_TOKEN_AUTH = env.bool("REGISTRY_TOKEN_AUTH", default=True)
REGISTRY_TOKEN_SERVICE = env("REGISTRY_TOKEN_SERVICE", default="portal-registry")
REGISTRY_TOKEN_ISSUER = env("REGISTRY_TOKEN_ISSUER", default="portal")
REGISTRY_TOKEN_REALM = env("REGISTRY_TOKEN_REALM", default=f"{PORTAL_URL}/registry/token/")
REGISTRY_TOKEN_KEY_FILE = env("REGISTRY_TOKEN_KEY_FILE", default=str(BASE_DIR / "var" / "registry-token.key"))
REGISTRY_TOKEN_TTL_SECONDS = env.int("REGISTRY_TOKEN_TTL_SECONDS", default=300)
# The operators' allow-list of image sources for releases (apps/catalog/images.py): registries
# (`ghcr.io`), paths (`ghcr.io/acme/*`) or repositories (`docker.io/library/nginx`). Empty: any
# registry. The platform registry is always allowed, each tenant to its own repositories.
IMAGE_ALLOWLIST = env.list("IMAGE_ALLOWLIST", default=[])
# Retention: each registry repository keeps this many of its newest tags unless its application says
# otherwise (never one a release, a workload or a running build needs); the rest are deleted hourly,
# then REGISTRY_GC_COMMAND frees their layers (the registry's `garbage-collect` in a read-only window;
# `make run` and the tests set it for the registry under var/; empty: the operators run it themselves).
IMAGE_KEEP_TAGS = env.int("IMAGE_KEEP_TAGS", default=20)
REGISTRY_GC_COMMAND = env("REGISTRY_GC_COMMAND", default="")
# The name of the image pull Secret the portal writes into each tenant namespace it deploys to.
REGISTRY_PULL_SECRET = "portal-registry"
# Builds have a Celery queue of their own, so a long build never holds up a deployment.
BUILD_QUEUE = env("BUILD_QUEUE", default="builds")
CELERY_TASK_ROUTES = {"apps.builds.tasks.*": {"queue": BUILD_QUEUE}}
# The largest uploaded context (bytes, compressed; else 413) and unpacked (else 400).
BUILD_CONTEXT_MAX_BYTES = env.int("BUILD_CONTEXT_MAX_BYTES", default=50 * 1024 * 1024)
BUILD_CONTEXT_MAX_UNPACKED_BYTES = env.int("BUILD_CONTEXT_MAX_UNPACKED_BYTES", default=500 * 1024 * 1024)
BUILD_CONTEXT_MAX_FILES = env.int("BUILD_CONTEXT_MAX_FILES", default=100_000)
# Live log streams (/ws/workloads/{id}/logs/) one user may hold open in one web process.
WORKLOAD_LOG_STREAMS_PER_USER = env.int("WORKLOAD_LOG_STREAMS_PER_USER", default=8)
# A build running longer than this is stopped and failed; each tenant runs at most this many at once
# (the rest wait in `queued`).
BUILD_TIME_LIMIT_SECONDS = env.int("BUILD_TIME_LIMIT_SECONDS", default=30 * 60)
BUILD_CONCURRENCY_PER_TENANT = env.int("BUILD_CONCURRENCY_PER_TENANT", default=2)
# The worker running a build stamps it this often; a running build whose stamp is older than the
# timeout lost its worker (killed, out of memory, its machine gone) and the sweeper fails it.
BUILD_HEARTBEAT_SECONDS = env.int("BUILD_HEARTBEAT_SECONDS", default=5)
BUILD_HEARTBEAT_TIMEOUT_SECONDS = env.int("BUILD_HEARTBEAT_TIMEOUT_SECONDS", default=45)
# Git sources: https only, from these hosts (a leading dot allows subdomains); cloning stops after the timeout.
BUILD_GIT_HOSTS = env.list("BUILD_GIT_HOSTS", default=["github.com", "gitlab.com", "bitbucket.org", "codeberg.org"])
BUILD_GIT_TIMEOUT_SECONDS = env.int("BUILD_GIT_TIMEOUT_SECONDS", default=120)
# Tests clone local repositories (file:// and loopback); never on in production.
BUILD_GIT_ALLOW_LOCAL = False

# --- REST API ---------------------------------------------------------------------------------
# Larger API request bodies get 413 before anything parses them (apps/core/middleware.py). A MiB above
# the CMDB import limit, so an upload near that limit gets the import's own message (with its setting).
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=CMDB_IMPORT_MAX_BYTES + 1024 * 1024)
# Build contexts are uploaded to POST /api/v1/builds/ alone, with their own limit.
BUILD_UPLOAD_PATH = "/api/v1/builds/"
REST_FRAMEWORK = {
    # Keys first: an unauthenticated call then gets 401 with a WWW-Authenticate: Bearer challenge.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.apikeys.authentication.APIKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.DefaultCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "apps.core.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["apps.core.api.FilterBackend"],
    # No DRF throttles: calls made with an API key are metered against the tenant's plan where the key
    # is authenticated (apps/apikeys/throttling.py), so refused calls count too; sessions are not.
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's parsers, refusing NUL, lone surrogates and deep nesting with 400 (apps/core/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.parsers.JSONParser",
        "apps.core.parsers.FormParser",
        "apps.core.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PaaS Portal API",
    "DESCRIPTION": "Tenant and operator API of the platform portal.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # The API's contract is JSON: document it alone (DRF's form parsers stay for tests and the browser,
    # and an operation that takes uploads documents multipart itself).
    "PARSER_WHITELIST": ["apps.core.parsers.JSONParser"],
    # Request bodies get components of their own (`TenantRequest`), so what a request must hold (text
    # that may not be blank: minLength 1) is said there without constraining responses.
    "COMPONENT_SPLIT_REQUEST": True,
    # The one error shape as a component and every operation's default response (apps/core/openapi.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.openapi.add_error_responses",
        "apps.core.openapi.add_links",
    ],
    # Choice sets that share a field name ("kind", "status", "state") with another: each keeps a
    # stable component name (the first three are the names they had before the others arrived).
    "ENUM_NAME_OVERRIDES": {
        "KindEnum": "apps.tenants.models.Environment.Kind",
        "StatusEnum": "apps.tenants.models.Tenant.Status",
        "StateEnum": "apps.deployments.choices.State",
        "RelationKindEnum": "apps.cmdb.choices.RelationKind",
        "CmdbStatusEnum": "apps.cmdb.choices.Status",
        "InstanceStateEnum": "apps.marketplace.models.InstanceState",
        "BindingStateEnum": "apps.marketplace.models.BindingState",
    },
}

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Security headers shared by every environment ---------------------------------------------


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# No inline scripts or styles anywhere; data: images are the TOTP QR code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        # Signing in through the IdP posts to the portal, which redirects the form to the IdP.
        "form-action": ["'self'", *([_origin(SSO_SERVER_URL)] if SSO_SERVER_URL else [])],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True

LANGUAGE_CODE = "en-us"
# Dates and times read one way on every page (portal/formats/en/formats.py).
FORMAT_MODULE_PATH = ["portal.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging (structlog; JSON in production, readable locally) --------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOG_JSON = env.bool("LOG_JSON", default=False)
from apps.core.logging import build_logging_config  # noqa: E402  (needs the values above)

LOGGING = build_logging_config(json_output=LOG_JSON, level=LOG_LEVEL)

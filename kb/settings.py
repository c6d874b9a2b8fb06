"""kb settings: every knob is an environment variable (see .env.example and README).

The defaults need no service at all: SQLite in ./data and the in-memory channel layer.
`DATABASE_URL` switches to PostgreSQL, `REDIS_URL` to channels-redis (and a shared cache).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if not value:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use 1/0, true/false)")


def env_int(name: str, default: int) -> int:
    value = env(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off (set DEBUG=1 for local development)"
        )
    SECRET_KEY = "django-insecure-kb-development-only-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

DATA_DIR = Path(env("KB_DATA_DIR") or BASE_DIR / "data")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "bytes_app",
    "collab",
    "django_tasks",
    "django_tasks_db",
    "integrations",
    "discussions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kb.urls"
WSGI_APPLICATION = "kb.wsgi.application"
ASGI_APPLICATION = "kb.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "kb" / "templates"],
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

# --- Database ---------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'kb.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; IMMEDIATE transactions take the write lock up front
    # so two writers queue on busy_timeout instead of failing with "database is locked";
    # synchronous=FULL makes a commit survive power loss, not only a killed process.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
    }
    DATA_DIR.mkdir(parents=True, exist_ok=True)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that has gone away (failover, a dead host) is noticed in seconds, not when
    # the kernel gives up: libpq's connect timeout, and TCP keepalives on open connections.
    # Parameters in DATABASE_URL (?connect_timeout=...) win.
    for name, value in {
        "connect_timeout": 5,
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }.items():
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault(name, value)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and cache -----------------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    # Pub/sub: a group send is one PUBLISH, each process subscribes to a room's group once
    # and fans out locally (collab.hub); nothing is dropped over a capacity.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env("KB_CHANNEL_PREFIX", "kb")},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("KB_CHANNEL_PREFIX", "kb"),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (the built frontend is served by whitenoise from the same origin) ----------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
STATICFILES_DIRS = [FRONTEND_DIST] if FRONTEND_DIST.is_dir() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Security: on whenever DEBUG is off; each can be turned off for a plain-HTTP deployment ---
HTTPS = env_bool("KB_HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
if env_bool("KB_BEHIND_PROXY", False):
    # The reverse proxy terminates TLS and says so in this header (see deploy/nginx.conf).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
# Requests bigger than this are refused with 413 before they are parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("KB_MAX_REQUEST_BYTES", 2 * 1024 * 1024)

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an anonymous request gets 401 with `WWW-Authenticate: Token`.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "bytes_app.api.pagination.Pagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "bytes_app.api.throttling.AnonRateThrottle",
        "bytes_app.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("KB_THROTTLE_ANON", "120/min"),
        "user": env("KB_THROTTLE_USER", "1200/min"),
        "login": env("KB_THROTTLE_LOGIN", "20/min"),
    },
    "EXCEPTION_HANDLER": "bytes_app.api.errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "kb API",
    "DESCRIPTION": "Byte-size knowledge base: workspaces, modules, bytes, links and revisions.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/",
    # Swagger UI from our own static files, not a CDN (offline installs, no third-party script).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "bytes_app.api.schema.add_error_responses",
    ],
}

# --- kb ---------------------------------------------------------------------------------------
# Bytes are short by design: content past this many characters is refused (400 over REST).
KB_BYTE_MAX_CHARS = env_int("KB_BYTE_MAX_CHARS", 65536)
# Edits by the same author within this window fold into one revision.
KB_REVISION_COALESCE_SECONDS = env_int("KB_REVISION_COALESCE_SECONDS", 300)
# How REST writes reach live documents (bytes_app.live); collab plugs in its implementation.
KB_LIVE_DOCUMENTS = env("KB_LIVE_DOCUMENTS", "collab.live.StoredDocuments")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        # Replaces Django's own DEBUG-only console handler, which would print every line twice.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}

# --- Collab (live co-editing over WebSocket) --------------------------------------------------
# Largest WebSocket frame accepted; bigger ones close the socket with 4413.
KB_WS_MAX_FRAME_BYTES = env_int("KB_WS_MAX_FRAME_BYTES", 1024 * 1024)
# Connections per user and per module, per server process; past them: close 4509.
KB_WS_MAX_PER_USER = env_int("KB_WS_MAX_PER_USER", 50)
KB_WS_MAX_PER_MODULE = env_int("KB_WS_MAX_PER_MODULE", 500)
# Messages per second per connection (sustained) and the burst allowed above it.
KB_WS_MESSAGES_PER_SECOND = env_int("KB_WS_MESSAGES_PER_SECOND", 100)
KB_WS_MESSAGE_BURST = env_int("KB_WS_MESSAGE_BURST", 400)
# A client held back by the rate limit this long without a pause is flooding: close 4429.
KB_WS_FLOOD_SECONDS = env_int("KB_WS_FLOOD_MS", 5000) / 1000
# Largest awareness (presence/cursor) state of one client, in bytes of JSON.
KB_AWARENESS_MAX_BYTES = env_int("KB_AWARENESS_MAX_BYTES", 8192)
# Delay before a live edit reaches the byte's `content` (REST, search, revisions).
KB_MATERIALIZE_SECONDS = env_int("KB_MATERIALIZE_MS", 1000) / 1000
# Broadcast an update only once it is stored (off: broadcast at once, acknowledge after the
# commit; README "Durable by design" says why, bench measures the difference).
KB_BROADCAST_AFTER_COMMIT = env_bool("KB_BROADCAST_AFTER_COMMIT", False)
# Fold a module's update log into its snapshot after this many appended updates.
KB_COMPACT_EVERY = env_int("KB_COMPACT_EVERY", 500)
# A room stays loaded this long after its last socket leaves (a reload often follows).
KB_ROOM_IDLE_SECONDS = env_int("KB_ROOM_IDLE_SECONDS", 10)
# With several processes: how often each says how far its broadcasts have got (a process that
# lost the last ones heals from storage), and how long a heal waits for the sender's commit.
KB_HEARTBEAT_SECONDS = env_int("KB_HEARTBEAT_SECONDS", 5)
KB_HEAL_DELAY_SECONDS = env_int("KB_HEAL_DELAY_MS", 200) / 1000
# At shutdown (after the sockets have closed), store what is pending for at most this long.
KB_SHUTDOWN_SECONDS = env_int("KB_SHUTDOWN_SECONDS", 10)

# --- Integrations: webhooks (integrations/) and markdown import/export ------------------------
# The background worker (`python manage.py kb_worker`) takes its tasks from the database.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "webhooks"]}}
# Send webhooks to loopback, private, link-local and metadata addresses too (tests, private networks).
KB_WEBHOOK_ALLOW_PRIVATE = env_bool("KB_WEBHOOK_ALLOW_PRIVATE", False)
# One attempt: connect and each read wait at most this long.
KB_WEBHOOK_TIMEOUT_MS = env_int("KB_WEBHOOK_TIMEOUT_MS", 10000)
# Attempts per delivery; retries wait base * 2^n (with jitter), at most the max.
KB_WEBHOOK_MAX_ATTEMPTS = env_int("KB_WEBHOOK_MAX_ATTEMPTS", 12)
KB_WEBHOOK_BACKOFF_BASE_MS = env_int("KB_WEBHOOK_BACKOFF_BASE_MS", 10000)
KB_WEBHOOK_BACKOFF_MAX_SECONDS = env_int("KB_WEBHOOK_BACKOFF_MAX_SECONDS", 3600)
# An endpoint is disabled (and its workspace's owners emailed) after this many failures in a row.
KB_WEBHOOK_DISABLE_AFTER = env_int("KB_WEBHOOK_DISABLE_AFTER", 20)
# At most one byte.updated per byte per this window (live typing is coalesced).
KB_WEBHOOK_COALESCE_MS = env_int("KB_WEBHOOK_COALESCE_MS", 5000)
# Bytes of a receiver's response that are read (the rest is ignored).
KB_WEBHOOK_RESPONSE_MAX_BYTES = env_int("KB_WEBHOOK_RESPONSE_MAX_BYTES", 4096)
# The worker: idle poll interval, and how often it sweeps for lost wakeups and prunes.
KB_WEBHOOK_POLL_MS = env_int("KB_WEBHOOK_POLL_MS", 200)
KB_WEBHOOK_SWEEP_SECONDS = env_int("KB_WEBHOOK_SWEEP_SECONDS", 10)
KB_WEBHOOK_RETENTION_DAYS = env_int("KB_WEBHOOK_RETENTION_DAYS", 30)
# Markdown import: largest zip accepted, its total size unpacked, and its number of files.
KB_IMPORT_MAX_ZIP_BYTES = env_int("KB_IMPORT_MAX_ZIP_BYTES", 20 * 1024 * 1024)
KB_IMPORT_MAX_UNPACKED_BYTES = env_int("KB_IMPORT_MAX_UNPACKED_BYTES", 100 * 1024 * 1024)
KB_IMPORT_MAX_FILES = env_int("KB_IMPORT_MAX_FILES", 10000)

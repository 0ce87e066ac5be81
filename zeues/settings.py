"""ZEUES settings, read from the environment (see README "Configuration").

Defaults are the embedded ones: SQLite and the local sheet backend under ``var/``,
the in-memory channel layer. Secrets only ever come from the environment.
"""

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ZEUES_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "si", "sí"}


DEBUG = env_bool("DJANGO_DEBUG", False)

# The public demo key of the README: only ever with DEBUG on (`make run`). `check --deploy`
# reports zeues.E001 whenever it is in use (spools/checks.py).
ZEUES_DEMO_SECRET_KEY = "zeues-demo-insecure-secret-key-change-me-0123456789abcdefghijklmnop"
# The management command being run (None for daphne, pytest, a WSGI server...).
_COMMAND = sys.argv[1] if len(sys.argv) > 1 and Path(sys.argv[0]).name == "manage.py" else None
# Commands that serve requests sign sessions and CSRF tokens: they need the real key.
_SERVING = _COMMAND is None or _COMMAND in {"runserver", "testserver"}

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY and DEBUG:
    SECRET_KEY = ZEUES_DEMO_SECRET_KEY
elif not DEBUG and SECRET_KEY == ZEUES_DEMO_SECRET_KEY and _COMMAND != "check":
    # `check --deploy` may load it, to report zeues.E001; nothing else may.
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is the public demo key of the README: it is allowed only with "
        "DJANGO_DEBUG on. Set a secret key of your own."
    )
elif not DEBUG and not SECRET_KEY and _SERVING:
    # A web process (daphne, runserver) with DEBUG off never starts without its key.
    raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off.")
# Otherwise, with DEBUG off and no key, a management command (migrate, collectstatic,
# sync_sheets, local_sheet, load_demo...) runs with an empty key: Django refuses clearly
# ("The SECRET_KEY setting must not be empty") the moment anything would sign with it.

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "axes",  # login failure limits: AccessAttempt in the admin, the lockout page
    "csp",
    "spools",
    "occupation",
    "dashboard",
    "supervision",
    "bench",  # tooling: `manage.py bench`; nothing imports it
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF: a body Django cannot read is a Spanish 400 here, not a 500 inside it.
    "spools.middleware.RequestBodyMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "spools.middleware.HtmxLoginRedirectMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the Spanish lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "zeues.urls"

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

WSGI_APPLICATION = "zeues.wsgi.application"
ASGI_APPLICATION = "zeues.asgi.application"

# Database: SQLite under var/ unless DATABASE_URL says otherwise.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'zeues.sqlite3'}",
        # Request threads are reused (zeues.handler): their connections live on.
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, sync worker, commands) share the file: wait for locks
    # instead of failing, and take the write lock at BEGIN so two writers never
    # deadlock on a lock upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # Tests use a real file too (not shared-cache memory), so threads and child processes
    # meet the same locking as production.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-zeues.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channels: Redis when REDIS_URL is set, in-memory (single process) otherwise.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"


# Login failure limits (django-axes): after ZEUES_LOGIN_FAILURE_LIMIT wrong passwords for one
# account, or from one address, logins from there wait ZEUES_LOGIN_COOLOFF_MINUTES (each new
# try restarts the wait). A supervisor unlocks earlier by deleting the attempts in the admin.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses before the password is checked
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("ZEUES_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("ZEUES_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # per account and per address
AXES_LOCKOUT_CALLABLE = "spools.middleware.login_locked_out"
AXES_CLIENT_IP_CALLABLE = "spools.middleware.client_ip"
# Proxies in front of daphne that append the client to X-Forwarded-For (the TLS proxy when
# DJANGO_HTTPS is on): without them every client would share the proxy's address.
ZEUES_PROXY_COUNT = int(
    os.environ.get("ZEUES_PROXY_COUNT", "1" if env_bool("DJANGO_HTTPS", False) else "0")
)

LANGUAGE_CODE = "es-cl"
LANGUAGES = [("es", "Español")]
TIME_ZONE = os.environ.get("TIME_ZONE", "America/Santiago")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Under daphne there is no runserver to serve static files: WhiteNoise does it, and
# finds them in the app folders directly when DEBUG (no collectstatic needed then).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# HTTPS (behind a TLS proxy). Off by default: a plant LAN serves plain HTTP.
if env_bool("DJANGO_HTTPS", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
# Load balancers probe /healthz over plain HTTP; everything else is redirected to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
CSRF_FAILURE_VIEW = "spools.middleware.csrf_failure"  # in Spanish, not Django's English page
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30  # shared tablets stay logged in for a month

# Content-Security-Policy (django-csp): scripts only from our static files (no inline script
# anywhere); inline styles for the progress bars, htmx's indicator style and pygal's SVG;
# WebSockets to the same origin; the camera scanner's media and workers from blob: URLs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "media-src": [SELF, "blob:"],
        "worker-src": [SELF, "blob:"],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    }
}

# The workbook.
ZEUES_SHEET_ID = os.environ.get("ZEUES_SHEET_ID", "")
ZEUES_LOCAL_SHEET = os.environ.get("ZEUES_LOCAL_SHEET", str(VAR_DIR / "local-sheet.sqlite3"))
GOOGLE_APPLICATION_CREDENTIALS = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS", "")
# Seconds between pulls of Operaciones/Metadata, and of Trabajadores/Roles.
ZEUES_PULL_INTERVAL = float(os.environ.get("ZEUES_PULL_INTERVAL", "10"))
ZEUES_WORKERS_PULL_INTERVAL = float(os.environ.get("ZEUES_WORKERS_PULL_INTERVAL", "300"))
# Retries of one Sheets request (429, 5xx, timeouts) before a clear error.
ZEUES_SHEET_RETRIES = int(os.environ.get("ZEUES_SHEET_RETRIES", "5"))
ZEUES_SHEET_BACKOFF_BASE = float(os.environ.get("ZEUES_SHEET_BACKOFF_BASE", "0.5"))
ZEUES_SHEET_BACKOFF_MAX = float(os.environ.get("ZEUES_SHEET_BACKOFF_MAX", "32"))
ZEUES_SHEET_TIMEOUT = float(os.environ.get("ZEUES_SHEET_TIMEOUT", "30"))
# The dashboard flags occupations older than this many hours (someone went home?).
# Union types welded at site: they need ARM only (uniones.md).
ZEUES_ARM_ONLY_UNION_TYPES = tuple(
    t.strip().upper()
    for t in os.environ.get("ZEUES_ARM_ONLY_UNION_TYPES", "FW").split(",")
    if t.strip()
)
ZEUES_LONG_OCCUPATION_HOURS = float(os.environ.get("ZEUES_LONG_OCCUPATION_HOURS", "8"))
# Seconds between two write requests (Google: 60 writes per minute per user).
ZEUES_SHEET_MIN_WRITE_INTERVAL = float(os.environ.get("ZEUES_SHEET_MIN_WRITE_INTERVAL", "1.0"))
# The web process runs the sync loop itself (flush after each action, pull on a timer);
# with a separate `sync_sheets` worker the database lease makes one of them do the work.
ZEUES_SYNC_IN_WEB = env_bool("ZEUES_SYNC_IN_WEB", True)
# Threads serving HTTP requests in one web process (zeues.handler): more let a slow page
# (a year-long export) block fewer tablets; fewer answer a burst sooner (one GIL).
ZEUES_REQUEST_THREADS = int(os.environ.get("ZEUES_REQUEST_THREADS", "4"))


def env_codes(name: str, default: dict[str, str]) -> dict[str, str]:
    """A list of reason codes the plant may change: `codigo:Etiqueta,codigo:Etiqueta`."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    codes = {}
    for item in filter(str.strip, value.split(",")):
        code, _, label = item.partition(":")
        codes[code.strip()] = label.strip() or code.strip()
    return codes


# Consecutive METROLOGÍA rejections that block a spool (BLOQUEADO); 0 = never block.
ZEUES_MAX_REPAIR_CYCLES = int(os.environ.get("ZEUES_MAX_REPAIR_CYCLES", "3"))
# Why a spool was rejected (METROLOGÍA RECHAZADO) and why work stopped (PAUSAR).
ZEUES_MOTIVOS_RECHAZO = env_codes(
    "ZEUES_MOTIVOS_RECHAZO",
    {
        "porosidad": "Porosidad",
        "falta_fusion": "Falta de fusión",
        "falta_penetracion": "Falta de penetración",
        "socavado": "Socavado",
        "fisura": "Fisura",
        "escoria": "Inclusión de escoria",
        "desalineamiento": "Desalineamiento",
        "dimensional": "Dimensional",
        "otro": "Otro",
    },
)
ZEUES_MOTIVOS_PAUSA = env_codes(
    "ZEUES_MOTIVOS_PAUSA",
    {
        "fin_turno": "Fin de turno",
        "falta_material": "Falta de material",
        "esperando_armado": "Esperando armado",
        "esperando_grua": "Esperando grúa",
        "consumibles": "Faltan consumibles",
        "calidad": "Problema de calidad",
        "otro": "Otro",
    },
)
# The repair rate above which a welder needs attention (inspectors watch about 5%).
ZEUES_REPAIR_RATE_LINE = float(os.environ.get("ZEUES_REPAIR_RATE_LINE", "0.05"))
# Workers confirm who they are with a PIN after choosing their name from the list.
ZEUES_WORKER_PIN = env_bool("ZEUES_WORKER_PIN", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ZEUES_LOG_LEVEL", "INFO")},
    "loggers": {
        "daphne": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
        # Login failures and lockouts are warnings; its start-up banner is not news.
        "axes": {"level": "WARNING"},
    },
}

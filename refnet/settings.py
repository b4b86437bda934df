"""refnet settings: one file, read from environment variables, with a local default that works.

Clone, `make run`, and you get SQLite under ./data, console email and DEBUG on.
Production sets SECRET_KEY, DATABASE_URL (PostgreSQL), ALLOWED_HOSTS and DEBUG=false.
"""

import os
import tempfile
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str(
    "SECRET_KEY", default="dev-only-insecure-key-change-me-in-production-0123456789"
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
DATA_DIR = Path(env.str("REFNET_DATA_DIR", default=str(BASE_DIR / "data")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "refnet.accounts",
    "refnet.twofactor",
    "refnet.practice",
    "refnet.partners",
    "refnet.referrals",
    "refnet.outbox",
    "refnet.followups",
    "refnet.reports",
    "refnet.prospects",
    "refnet.registry",
    "refnet.outreach",
    "refnet.updates",
    "refnet.rewards",
    "refnet.growth",
    "refnet.api",
    "refnet.fhir",
    "refnet.hl7",
    "refnet.imports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "refnet.twofactor.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): has this session passed the second factor?
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "refnet.twofactor.middleware.IdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Before the role check: an unverified manager reaches nothing but the code step.
    "refnet.twofactor.middleware.SecondFactorMiddleware",
    "refnet.accounts.middleware.RoleRequiredMiddleware",
    # Axes goes last: it turns repeated failed logins into a lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "refnet.urls"
WSGI_APPLICATION = "refnet.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "refnet" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "refnet.accounts.context_processors.capabilities",
            ],
        },
    },
]

# SQLite under the data directory by default; DATABASE_URL=postgres://... for production.
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'refnet.sqlite3'}"
    )
}
SQLITE_AUTOCHECKPOINT_PAGES = env.int("REFNET_SQLITE_AUTOCHECKPOINT_PAGES", default=20000)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend, but a writer waiting for the write lock retries within 2 ms
    # instead of SQLite's sleeps of up to 100 ms (refnet/sqlite/base.py).
    DATABASES["default"]["ENGINE"] = "refnet.sqlite"
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL lets readers and one writer work at once; IMMEDIATE avoids the
            # "database is locked" upgrade deadlock between concurrent writers.
            # synchronous=NORMAL: in WAL mode a commit is durable against a crash of the
            # process and consistent against a power cut. The page cache (per connection,
            # negative = KiB) and the memory map (shared by all processes through the OS)
            # keep the hot indexes in memory; temporary sort trees stay in memory too.
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
                "PRAGMA busy_timeout=5000;PRAGMA foreign_keys=ON;"
                "PRAGMA cache_size=-32768;PRAGMA mmap_size=1073741824;"
                "PRAGMA temp_store=MEMORY;"
                # Checkpoints (copying the WAL back into the database, with an fsync) are
                # `refnet worker`'s job, every tick; a request that crossed SQLite's default
                # 1,000 pages paid for one (p95 of a 1 ms write: 4 -> 22 ms). The web
                # processes still checkpoint when the WAL passes this size, in case no
                # worker runs.
                f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES};"
            ),
            "transaction_mode": "IMMEDIATE",
        }
    )
    # Tests use a file, not Django's in-memory default, so that the worker processes the
    # outbox tests start can open the same database; one file per test process.
    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME", str(Path(tempfile.gettempdir()) / f"refnet-test-{os.getpid()}.sqlite3")
    )
# Persistent connections, on both databases: a new SQLite connection costs ~3 ms of CPU
# (the PRAGMAs, parsing the schema) and starts with a cold page cache; a new PostgreSQL
# connection costs a backend process. Health checks drop one that went bad.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, with the per-request read of the user as one plain statement.
    "refnet.accounts.backends.UserBackend",
]

# Lockout: after AXES_FAILURE_LIMIT failures for one username from one address, wait.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Off: a correct password alone must not wipe failed second-factor codes. The failures are
# cleared when the whole sign-in succeeds (refnet.twofactor.signals.sign_in_completed).
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
# Django's database sessions, read with one plain statement (refnet/accounts/sessions.py).
SESSION_ENGINE = "refnet.accounts.sessions"
# After this many minutes without a request the session ends (0: never). The last-seen
# time is written at most once a minute, so busy sessions do not write on every request.
REFNET_IDLE_TIMEOUT_MINUTES = env.int("REFNET_IDLE_TIMEOUT_MINUTES", default=15)

# Second factor (django-otp): managers and admins must use an authenticator app (TOTP);
# backup codes are django-otp's static tokens. Wrong codes also count toward the lockout.
OTP_TOTP_ISSUER = env.str("REFNET_OTP_ISSUER", default="refnet")

# Cookies: HttpOnly (no script reads them; pages carry the CSRF token in the form or in
# hx-headers), SameSite=Lax, and Secure whenever DEBUG is off.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.bool("REFNET_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# HTTPS. Behind a TLS proxy (nginx, Caddy) that sets X-Forwarded-Proto, set
# REFNET_TRUST_X_FORWARDED_PROTO=true, and only then: otherwise any client could claim https.
SECURE_SSL_REDIRECT = env.bool("REFNET_SSL_REDIRECT", default=not DEBUG)
if env.bool("REFNET_TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^health/?$"]  # a load balancer's plain-http probe
SECURE_HSTS_SECONDS = env.int("REFNET_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("REFNET_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("REFNET_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
REFNET_PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)

# Content-Security-Policy (django-csp), in every mode: scripts and styles only from our own
# static files; no inline script. Inline style *attributes* are allowed (bar widths, the
# server-drawn SVG charts), inline <style> elements are not.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="America/New_York")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every start without it
STATICFILES_DIRS = [BASE_DIR / "refnet" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Outgoing mail goes through the outbox and `refnet worker`. The default writes each
# message to a file under data/mail so nothing leaves a development machine by accident.
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(DATA_DIR / "mail"))
EMAIL_HOST = env.str("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="refnet@practice.example")

# Who the practice is, for letterheads, signatures and the postal address CAN-SPAM asks
# for in every non-clinical email.
REFNET_PRACTICE_NAME = env.str("REFNET_PRACTICE_NAME", default="Front Range Physical Therapy")
REFNET_PRACTICE_ADDRESS = env.str(
    "REFNET_PRACTICE_ADDRESS", default="1200 Larimer St, Denver, CO 80204"
)
REFNET_PRACTICE_PHONE = env.str("REFNET_PRACTICE_PHONE", default="(303) 555-0100")
# Absolute links in messages (unsubscribe) start with this.
REFNET_BASE_URL = env.str("REFNET_BASE_URL", default="http://127.0.0.1:8000")

# SMS and fax leave through a provider adapter; the file backends write them under data/.
REFNET_SMS_BACKEND = env.str("REFNET_SMS_BACKEND",
                             default="refnet.outbox.channels.sms.FileSmsBackend")
REFNET_FAX_BACKEND = env.str("REFNET_FAX_BACKEND",
                             default="refnet.outbox.channels.fax.FileFaxBackend")
REFNET_SMS_WEBHOOK_SECRET = env.str("REFNET_SMS_WEBHOOK_SECRET", default="")
# TCPA quiet hours: texts go out between these local hours only.
REFNET_SMS_SEND_FROM_HOUR = env.int("REFNET_SMS_SEND_FROM_HOUR", default=8)
REFNET_SMS_SEND_UNTIL_HOUR = env.int("REFNET_SMS_SEND_UNTIL_HOUR", default=21)

# The worker: how long a claim lasts, how often it retries, when it gives up.
REFNET_OUTBOX_LEASE_SECONDS = env.int("REFNET_OUTBOX_LEASE_SECONDS", default=120)
REFNET_OUTBOX_MAX_ATTEMPTS = env.int("REFNET_OUTBOX_MAX_ATTEMPTS", default=6)
REFNET_OUTBOX_BACKOFF_SECONDS = env.int("REFNET_OUTBOX_BACKOFF_SECONDS", default=60)
REFNET_OUTBOX_BACKOFF_MAX_SECONDS = env.int("REFNET_OUTBOX_BACKOFF_MAX_SECONDS", default=6 * 3600)
REFNET_OUTBOX_BATCH = env.int("REFNET_OUTBOX_BATCH", default=50)
REFNET_WORKER_TICK_SECONDS = env.float("REFNET_WORKER_TICK_SECONDS", default=5.0)
# /health/ answers 503 when no `refnet worker` has beaten its heartbeat for this long (a
# worker beats every tick, REFNET_WORKER_TICK_SECONDS, and after every delivered batch).
REFNET_HEALTH_WORKER_MAX_AGE_SECONDS = env.float("REFNET_HEALTH_WORKER_MAX_AGE_SECONDS",
                                                 default=60.0)
REFNET_HEALTH_REQUIRE_WORKER = env.bool("REFNET_HEALTH_REQUIRE_WORKER", default=True)
# Rules look back this far for referral events when they first run or run in full.
REFNET_RULES_LOOKBACK_DAYS = env.int("REFNET_RULES_LOOKBACK_DAYS", default=30)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

# "Who can we thank?": how far back "recent referral volume" reaches when ranking.
REFNET_SEARCH_VOLUME_DAYS = env.int("REFNET_SEARCH_VOLUME_DAYS", default=365)
# The most patient-level rows one report export may hold (it says when it was cut).
REFNET_REPORTS_PATIENT_ROWS_MAX = env.int("REFNET_REPORTS_PATIENT_ROWS_MAX", default=50_000)

# The audit log's client address (docs/audit.md): REMOTE_ADDR, unless the request came from
# one of these proxies (addresses or networks, e.g. "127.0.0.1,10.0.0.0/8"); then the
# nearest address in X-Forwarded-For that is not a trusted proxy. Default: trust none.
REFNET_TRUSTED_PROXIES = env.list("REFNET_TRUSTED_PROXIES", default=[])
# Where `refnet backup` writes when not given --output.
REFNET_BACKUP_DIR = Path(env.str("REFNET_BACKUP_DIR", default=str(DATA_DIR / "backups")))

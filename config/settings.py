"""Hiền Tài settings: one module, driven by environment variables.

Every variable is listed in README.md. Development defaults are safe to run
locally (SQLite, database cache, database task queue); production turns on the
secure defaults as soon as DEBUG is off.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    # Fail loudly: a typo such as DEBUG=flase must not silently mean True.
    value = os.environ.get(name, default).strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, got {value!r}")


def envint(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer") from exc


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", "1")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-hien-tai-do-not-use-in-production-0123456789"
SECRET_KEY_FALLBACKS = envlist("SECRET_KEY_FALLBACKS", "")

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost" if not DEBUG else "*")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_tasks",
    "django_tasks_db",
    "accounts",
    "exams",
    "candidates",
    "scoring",
    "audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.StaffMFARequiredMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
            ],
        },
    },
]

# --- Database: SQLite embedded by default, PostgreSQL through DATABASE_URL.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=envint("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and the task worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Cache: rate limits need a real, shared cache.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "hientai_cache",
        }
    }

# --- Background tasks through the Django tasks API.
if REDIS_URL:
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600}}
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- Authentication: allauth, e-mail login, mandatory verification, MFA.
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
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupForm"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Hiền Tài] "
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/300s/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}
MFA_ADAPTER = "accounts.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Hiền Tài"
# Distinct from SECRET_KEY so that rotating one does not lock staff out of MFA.
MFA_ENCRYPTION_KEY = os.environ.get("MFA_ENCRYPTION_KEY", SECRET_KEY)

SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- E-mail: every message goes through the task queue, then the delivery backend.
EMAIL_BACKEND = "accounts.mail.TaskEmailBackend"
MAIL_DELIVERY_BACKEND = os.environ.get(
    "MAIL_DELIVERY_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "0")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "sent_mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Hiền Tài <no-reply@hientai.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Internationalisation: Vietnamese first, English second.
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Tiếng Việt")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale_vendor"]
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Static and uploaded files (uploads are never served from a public URL).
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / os.environ.get("STATIC_ROOT", "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "private_media"))
DATA_UPLOAD_MAX_NUMBER_FILES = 20
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Security: secure by default as soon as DEBUG is off.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "0" if DEBUG else "1")
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", "0" if DEBUG else "1")
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", "0" if DEBUG else "1")
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "0" if DEBUG else "1")
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "0" if DEBUG else "1")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Dossier limits (per file, per application) and the image pixel cap (decompression bombs).
DOSSIER_MAX_FILE_BYTES = envint("DOSSIER_MAX_FILE_MB", 10) * 1024 * 1024
DOSSIER_MAX_TOTAL_BYTES = envint("DOSSIER_MAX_TOTAL_MB", 50) * 1024 * 1024
DOSSIER_MAX_PIXELS = envint("DOSSIER_MAX_PIXELS", 40_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = DOSSIER_MAX_FILE_BYTES + 1024 * 1024

# --- Certificates (scoring.certificates) -------------------------------------------------------
# Ed25519 signing: CERT_SIGNING_KEY is a PEM or the base64 of the 32 raw private-key bytes, and
# CERT_KEY_ID names it (printed on every certificate). CERT_PUBLIC_KEYS is a JSON object
# {key_id: base64 raw public key} of retired keys, so certificates signed before a rotation still
# verify. Without a key, a demo key is made under CERT_KEY_DIR only when DEBUG is on; with DEBUG
# off, issuing is refused. Generate a pair with:
#   python -c "from scoring.certificates import new_key_pair; print(*new_key_pair(), sep='\n')"
from json import loads as _json_loads  # noqa: E402

CERT_SIGNING_KEY = os.environ.get("CERT_SIGNING_KEY", "")
CERT_KEY_ID = os.environ.get("CERT_KEY_ID", "")
try:
    CERT_PUBLIC_KEYS = _json_loads(os.environ.get("CERT_PUBLIC_KEYS", "") or "{}")
except ValueError as _exc:
    raise ImproperlyConfigured("CERT_PUBLIC_KEYS must be a JSON object {key_id: base64 public key}") from _exc
if not isinstance(CERT_PUBLIC_KEYS, dict):
    raise ImproperlyConfigured("CERT_PUBLIC_KEYS must be a JSON object {key_id: base64 public key}")
if CERT_SIGNING_KEY and not CERT_KEY_ID:
    raise ImproperlyConfigured("CERT_KEY_ID must be set with CERT_SIGNING_KEY")
CERT_DEMO_KEYS = DEBUG  # never a demo key in production
CERT_KEY_DIR = Path(os.environ.get("CERT_KEY_DIR", BASE_DIR / "keys"))
CERT_PLACE = os.environ.get("CERT_PLACE", "Quảng Nam")  # "Quảng Nam, ngày … tháng … năm …"
CERT_CHAIR_TITLE = os.environ.get("CERT_CHAIR_TITLE", "Chủ tịch Hội đồng thi tuyển")
CERT_BATCH_CHUNK = envint("CERT_BATCH_CHUNK", 200)  # certificates inserted per transaction
CERT_BATCH_SHARDS = envint("CERT_BATCH_SHARDS", 2)  # tasks per batch, so several workers share it
CERT_BATCH_STALE_SECONDS = envint("CERT_BATCH_STALE_SECONDS", 300)  # no progress for this long: resumable
# --- End of certificates ---------------------------------------------------------------------------

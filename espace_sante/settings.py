"""One settings module for every environment.

Every value comes from an environment variable with a safe default; README.md
lists them all. Secrets can also come from a file (``NAME_FILE``), and the
secret key is generated under ``var/`` on first run so that a fresh checkout
works without configuration and nothing secret is ever committed.

Length (over 500 lines): one module on purpose, so that every setting and its
default is found in one place, grouped by app with a comment saying why.
"""

import os
import secrets
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

# var/ holds everything a running instance creates: database, secret key,
# keys, blobs, mail. It is never committed.
VAR_DIR = Path(env.str("ESPACE_SANTE_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret(name: str, generated_file: Path | None = None) -> str:
    """Read a secret from NAME, NAME_FILE, or a file generated under var/ on first run."""
    if value := env.str(name, default=""):
        return value
    if path := env.str(f"{name}_FILE", default=""):
        return Path(path).read_text(encoding="utf-8").strip()
    if generated_file is None:
        raise environ.ImproperlyConfigured(f"Set {name} or {name}_FILE.")
    if not generated_file.exists():
        # O_EXCL: two processes starting together must not write two keys.
        try:
            fd = os.open(generated_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(secrets.token_urlsafe(50))
    return generated_file.read_text(encoding="utf-8").strip()


def _oidc_signing_key() -> str:
    """RSA key signing our OpenID Connect ID tokens: from the environment, or
    generated once under var/keys/ (mode 0600)."""
    if value := env.str("OIDC_RSA_PRIVATE_KEY", default=""):
        return value
    if path := env.str("OIDC_RSA_PRIVATE_KEY_FILE", default=""):
        return Path(path).read_text(encoding="utf-8")
    key_file = VAR_DIR / "keys" / "oidc_rsa.pem"
    if not key_file.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
    return key_file.read_text(encoding="utf-8")


SECRET_KEY = _secret("SECRET_KEY", VAR_DIR / "secret_key")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Absolute URL of the service, used in emails and letters.
# Follows PORT so that `PORT=8080 make run` writes links (emails, FHIR client configs) that work.
SITE_URL = env.str("SITE_URL", default=f"http://127.0.0.1:{env.str('PORT', default='8000')}")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    # Our apps come before allauth so that our templates override its own.
    "espace_sante.identity",
    "espace_sante.web",
    "espace_sante.crypto",
    "espace_sante.access",
    "espace_sante.record",
    "espace_sante.portal",
    "espace_sante.messaging",
    "espace_sante.pharmacy",
    "espace_sante.enrollment",
    "espace_sante.agenda",
    "espace_sante.operator",
    "espace_sante.fhir",
    "espace_sante.demo",
    "widget_tweaks",
    "dsfr",
    "django_htmx",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "oauth2_provider",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "espace_sante.web.middleware.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "espace_sante.access.middleware.RequestContextMiddleware",
    "espace_sante.identity.csp.FormActionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "espace_sante.crypto.middleware.KeyScopeMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "espace_sante.identity.middleware.ProfessionalSecondFactorMiddleware",
]

ROOT_URLCONF = "espace_sante.urls"
CSRF_FAILURE_VIEW = "espace_sante.web.views.csrf_failure"
WSGI_APPLICATION = "espace_sante.wsgi.application"
SITE_ID = 1

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            # « 1er décembre 2026 à 14 h 05 » in every template, without a {% load %}.
            "builtins": ["espace_sante.web.templatetags.french"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "espace_sante.web.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# SQLite in var/ by default (WAL, set on connection in web/apps.py);
# DATABASE_URL=postgres://... for PostgreSQL.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache backs sign-in rate limits and lockout, so it must be shared by
# every web process: the database by default, Redis with CACHE_URL=redis://...
CACHES = {
    "default": env.cache_url("CACHE_URL", default="dbcache://espace_sante_cache"),
}

# --- Encryption keys (espace_sante.crypto) ---------------------------------
# The key-encryption key (KEK) wrapping every patient's data keys: a Tink keyset
# file, created on first use (mode 0600). In production, point this outside the
# data disk, or replace the file by a KMS/HSM-held key (see crypto/kek.py).
KEK_KEYSET_FILE = env.str("KEK_KEYSET_FILE", default=str(VAR_DIR / "keys" / "kek.json"))

# --- Audit trail keys and seals (espace_sante.access.audit_keys, seals) -----
# Empty: derived from VAR_DIR when used (var/keys/audit_hmac.json,
# var/keys/audit_seal_ed25519.pem, var/audit-seals/), created on first use
# (0600). In production, keep them off the database's disk and host: whoever
# holds the database must not hold these.
AUDIT_HMAC_KEYS_FILE = env.str("AUDIT_HMAC_KEYS_FILE", default="")
AUDIT_SEAL_KEY_FILE = env.str("AUDIT_SEAL_KEY_FILE", default="")
AUDIT_SEALS_DIR = env.str("AUDIT_SEALS_DIR", default="")

# --- Accounts and sign-in -------------------------------------------------
AUTH_USER_MODEL = "identity.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "web:home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_ADAPTER = "espace_sante.identity.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "espace_sante.identity.adapters.SocialAccountAdapter"
MFA_ADAPTER = "espace_sante.identity.adapters.MFAAdapter"
ACCOUNT_FORMS = {
    "login": "espace_sante.identity.forms.SignInForm",
    "confirm_login_code": "espace_sante.identity.forms.LoginCodeForm",
}
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_PREVENT_ENUMERATION = True
# Citizens: a one-time code by email after the password at *every* sign-in
# (the adapter decides who needs it). Passwordless code sign-in stays off.
ACCOUNT_LOGIN_BY_CODE_ENABLED = False
ACCOUNT_LOGIN_BY_CODE_REQUIRED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = env.int("LOGIN_CODE_TIMEOUT", default=600)
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
# « Recevoir un nouveau code », twice per sign-in; wrong codes still count toward
# the account lock, so a new code buys no extra guesses.
ACCOUNT_LOGIN_BY_CODE_SUPPORTS_RESEND = 2
# Six digits: easy to read on a phone and to type for anyone.
ACCOUNT_LOGIN_BY_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
# Lockout: after LOGIN_MAX_FAILURES wrong passwords *or codes* (emailed/SMS
# code, TOTP) for one account, sign-in is refused for LOGIN_LOCKOUT_SECONDS;
# an IP is also capped per minute. The code forms count toward the same limit
# (identity/forms.py).
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=900)
ACCOUNT_RATE_LIMITS = {
    "login_failed": f"20/m/ip,{LOGIN_MAX_FAILURES}/{LOGIN_LOCKOUT_SECONDS}s/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_FORMS = {"authenticate": "espace_sante.identity.forms.SecondFactorForm"}
MFA_TOTP_ISSUER = "espace-santé"
MFA_PASSKEY_LOGIN_ENABLED = False

SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_STORE_TOKENS = False
# Pro Santé Connect (or any OpenID Connect provider) for professionals.
# Configured only when PSC_SERVER_URL is set.
PSC_SERVER_URL = env.str("PSC_SERVER_URL", default="")
SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"OAUTH_PKCE_ENABLED": True, "APPS": []}}
if PSC_SERVER_URL:
    SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"].append(
        {
            "provider_id": "psc",
            "name": env.str("PSC_NAME", default="Pro Santé Connect"),
            "client_id": env.str("PSC_CLIENT_ID", default=""),
            "secret": _secret("PSC_CLIENT_SECRET") if env.str("PSC_CLIENT_ID", default="") else "",
            "settings": {
                "server_url": PSC_SERVER_URL,
                "scope": env.list("PSC_SCOPES", default=["openid", "scope_all"]),
                "token_auth_method": "client_secret_post",
                "oauth_pkce_enabled": True,
            },
        }
    )

# The project's own OAuth2/OIDC provider (professional software and apps
# later; in tests it also plays the professionals' identity provider).
OAUTH2_PROVIDER = {
    "PKCE_REQUIRED": True,
    "OIDC_ENABLED": True,
    # Adds private_key_jwt client authentication for professional software.
    "OAUTH2_VALIDATOR_CLASS": "espace_sante.fhir.oauth.SoftwareClientValidator",
    "OIDC_RSA_PRIVATE_KEY": _oidc_signing_key(),
    "SCOPES": {"openid": "Identité", "profile": "Profil", "email": "Adresse électronique"},
    "ACCESS_TOKEN_EXPIRE_SECONDS": 600,
    # RFC 9700 (OAuth 2.0 Security BCP) behaviours, ahead of their defaults.
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # http stays allowed for loopback redirect URIs (RFC 8252 native apps,
    # local development); registered clients are reviewed by operators.
    "ALLOWED_REDIRECT_URI_SCHEMES": env.list("OAUTH_REDIRECT_SCHEMES", default=["https", "http"]),
}
# Named so that apps linking to it (fhir.SoftwareClient) get swappable migrations.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
SILENCED_SYSTEM_CHECKS = ["oauth2_provider.W008"]  # see ALLOWED_REDIRECT_URI_SCHEMES

# --- Sessions and browser security ---------------------------------------
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=15 * 60)
SESSION_SAVE_EVERY_REQUEST = True  # idle timeout, not absolute
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Browsers accept Secure cookies from http://127.0.0.1 and localhost, so the
# demo keeps them on; turn off only behind a plain-HTTP proxy you trust.
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Browser features no page uses are off, for the site and what it embeds;
# passkeys (WebAuthn) stay allowed for the site itself.
PERMISSIONS_POLICY = {
    **{
        feature: []
        for feature in (
            "accelerometer",
            "bluetooth",
            "camera",
            "display-capture",
            "geolocation",
            "gyroscope",
            "magnetometer",
            "microphone",
            "midi",
            "payment",
            "serial",
            "usb",
        )
    },
    "publickey-credentials-create": ["self"],
    "publickey-credentials-get": ["self"],
}
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
)

from csp.constants import NONCE, NONE, SELF  # noqa: E402

# Extra origins forms may lead to (an identity provider whose authorization
# endpoint is not on its issuer's host); see identity/csp.py.
CSP_FORM_ACTION_ORIGINS = env.list("CSP_FORM_ACTION_ORIGINS", default=[])
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}

# --- Email and SMS --------------------------------------------------------
# Default: each email is written as a file under var/mail/ so the demo can
# read its sign-in codes. EMAIL_URL=smtp://user:password@host:587 (or
# smtp+tls://, smtp+ssl://) sends through a real server.
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url_config(EMAIL_URL))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="espace-santé <ne-pas-repondre@espace-sante.localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_EMAIL_SUBJECT_PREFIX = "espace-santé — "
# How SMS are sent; the default writes them to the log (no operator contract).
SMS_SENDER = env.str("SMS_SENDER", default="espace_sante.identity.sms.LogSmsSender")

# Reminders (new document, appointment, prevention…) go out in one digest per person
# and per day, never during quiet hours (Europe/Paris, "HH:MM"; start after end
# means the night): a notification at 23:00 waits for the morning.
NOTIFICATION_QUIET_START = env.str("NOTIFICATION_QUIET_START", default="21:00")
NOTIFICATION_QUIET_END = env.str("NOTIFICATION_QUIET_END", default="08:00")

# The periodic jobs' times (web/schedule.py) may be changed per job, as cron
# lines in Europe/Paris: SCHEDULE_OVERRIDES='{"audit_seal": "0 */6 * * *"}'.
# Six fields: the first is the second.
SCHEDULE_OVERRIDES = env.json("SCHEDULE_OVERRIDES", default={})

# --- Background tasks -----------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
    }
}
# Redis-backed queue at scale: TASKS_BACKEND=django_tasks_rq.RQBackend (install
# `.[rq]`, in requirements.lock); `espace-sante worker` then runs an RQ worker
# with its scheduler (tasks enqueued for later, e.g. the automatic creation).
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
RQ_QUEUES = {"default": {"URL": REDIS_URL}}
if TASKS["default"]["BACKEND"].startswith("django_tasks_rq"):
    TASKS["default"]["QUEUES"] = ["default"]
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]

# --- Enrollment (opt-out) -------------------------------------------------
# lifecycle.md: a space is created automatically this many days after the
# information went out (6 weeks; a 1-month delay was once announced); the
# provisional code is valid as long.
ENROLLMENT_OBJECTION_DAYS = env.int("ENROLLMENT_OBJECTION_DAYS", default=42)
# Wrong provisional codes for one person before the form locks, and for how long.
ENROLLMENT_CODE_MAX_FAILURES = env.int("ENROLLMENT_CODE_MAX_FAILURES", default=5)
ENROLLMENT_CODE_LOCK_MINUTES = env.int("ENROLLMENT_CODE_LOCK_MINUTES", default=60)
# Invitation emails: attempts before falling back to a letter, first retry delay (doubles).
ENROLLMENT_EMAIL_MAX_ATTEMPTS = env.int("ENROLLMENT_EMAIL_MAX_ATTEMPTS", default=4)
ENROLLMENT_EMAIL_RETRY_SECONDS = env.int("ENROLLMENT_EMAIL_RETRY_SECONDS", default=300)
# Letters per PDF file given to the printer.
ENROLLMENT_LETTERS_PER_PDF = env.int("ENROLLMENT_LETTERS_PER_PDF", default=1000)
# A closed space is archived this long, then deleted (an express request: at once, by the worker).
ENROLLMENT_ARCHIVE_YEARS = env.int("ENROLLMENT_ARCHIVE_YEARS", default=10)

# --- Medical record -------------------------------------------------------
# Patients deposit up to 5 MB per file, as in the official service; software
# of professionals up to 20 MB (no published limit: a setting, stated in errors).
RECORD_PATIENT_MAX_BYTES = env.int("RECORD_PATIENT_MAX_BYTES", default=5 * 1024 * 1024)
RECORD_PROFESSIONAL_MAX_BYTES = env.int("RECORD_PROFESSIONAL_MAX_BYTES", default=20 * 1024 * 1024)
# A deposit's idempotency key (Idempotency-Key of a FHIR push, the upload form's
# one-time token) answers a retry with the first document this long, then is purged.
RECORD_IDEMPOTENCY_HOURS = env.int("RECORD_IDEMPOTENCY_HOURS", default=24)
RECORD_PATIENT_ALLOWED_TYPES = env.list(
    "RECORD_PATIENT_ALLOWED_TYPES",
    default=["application/pdf", "text/plain", "text/rtf", "image/jpeg", "image/png", "image/tiff"],
)
RECORD_ALLOWED_TYPES = env.list(
    "RECORD_ALLOWED_TYPES", default=[*RECORD_PATIENT_ALLOWED_TYPES, "application/xml"]
)
# Images above this many pixels (all pages of a TIFF together) are refused from
# their header, before decoding: a 48-megapixel phone photo fits, a pixel flood
# does not (decoding costs about 3 bytes a pixel).
RECORD_IMAGE_MAX_PIXELS = env.int("RECORD_IMAGE_MAX_PIXELS", default=50_000_000)
# Uploads above this size go to a temporary file rather than memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
FILE_UPLOAD_TEMP_DIR = str(VAR_DIR / "tmp")
(VAR_DIR / "tmp").mkdir(exist_ok=True)

# --- Access ---------------------------------------------------------------
# How long an emergency access (bris de glace, SAMU) lasts (access.md: e.g. 4 hours).
EMERGENCY_ACCESS_HOURS = env.int("EMERGENCY_ACCESS_HOURS", default=4)

# --- Secure messaging ----------------------------------------------------
# Attachments: the same content checks as documents; a patient's own files
# (a prescription sent to a pharmacy) also stay within the patient limits.
MESSAGING_ATTACHMENT_MAX_BYTES = env.int("MESSAGING_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
MESSAGING_ATTACHMENT_ALLOWED_TYPES = env.list(
    "MESSAGING_ATTACHMENT_ALLOWED_TYPES", default=RECORD_PATIENT_ALLOWED_TYPES
)
MESSAGING_MAX_ATTACHMENTS = env.int("MESSAGING_MAX_ATTACHMENTS", default=5)

# --- Request sizes ------------------------------------------------------------
# A body larger than its part of the site's largest legitimate form is refused
# from its Content-Length (413), before anything is read or spooled to disk
# (web/middleware.py); the form's own checks still give the precise message.
# The FHIR door has its own limit (fhir/http.py).
_ATTACHMENTS_BYTES = MESSAGING_MAX_ATTACHMENTS * MESSAGING_ATTACHMENT_MAX_BYTES
REQUEST_BODY_LIMITS = {
    "/documents/": RECORD_PATIENT_MAX_BYTES,
    "/messagerie/": _ATTACHMENTS_BYTES,
    "/pro/": max(RECORD_PROFESSIONAL_MAX_BYTES, _ATTACHMENTS_BYTES),
    # A department's beneficiary file at once.
    "/operateur/": env.int("OPERATOR_MAX_UPLOAD_BYTES", default=512 * 1024 * 1024),
}
REQUEST_BODY_DEFAULT_LIMIT = RECORD_PATIENT_MAX_BYTES
# Room for the multipart headers and the form's other fields.
REQUEST_BODY_MARGIN = 1024 * 1024
MESSAGING_BODY_MAX_CHARS = env.int("MESSAGING_BODY_MAX_CHARS", default=10_000)
# Against abuse: messages one sender may send per hour (then a clear refusal).
MESSAGING_PROFESSIONAL_MAX_PER_HOUR = env.int("MESSAGING_PROFESSIONAL_MAX_PER_HOUR", default=100)
MESSAGING_PATIENT_MAX_PER_HOUR = env.int("MESSAGING_PATIENT_MAX_PER_HOUR", default=20)
# Retention is not published (services.md): conversations without activity
# for this many days are deleted, with their attachments, by the
# `messaging_retention` command / task.
MESSAGING_RETENTION_DAYS = env.int("MESSAGING_RETENTION_DAYS", default=3 * 365)
# Patients are told this many days before their inactive conversations go.
MESSAGING_RETENTION_WARNING_DAYS = env.int("MESSAGING_RETENTION_WARNING_DAYS", default=30)

# --- Audit trail: where a request comes from ----------------------------
# The client IP recorded in the audit trail is REMOTE_ADDR. Behind a reverse
# proxy you run (and only then: the header is easy to forge), set this to
# take the address that proxy appended to X-Forwarded-For instead.
TRUST_X_FORWARDED_FOR = env.bool("TRUST_X_FORWARDED_FOR", default=False)

# --- Internationalisation -------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# S3 in production: storages.backends.s3.S3Storage and django-storages' AWS_*
# variables.
BLOB_STORAGE_BACKEND = env.str(
    "BLOB_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"
)
# Not the manifest storage: it rewrites URLs inside the DSFR stylesheets, which
# breaks their subresource-integrity hashes.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Letter PDFs for the printer (they carry provisional codes: operators only).
    "letters": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "letters")},
    },
    # Encrypted document blobs (files under var/blobs by default).
    "blobs": {
        "BACKEND": BLOB_STORAGE_BACKEND,
        "OPTIONS": {"location": str(VAR_DIR / "blobs")}
        if BLOB_STORAGE_BACKEND.endswith("FileSystemStorage")
        else {},
    },
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_STORAGE",
            default="whitenoise.storage.CompressedStaticFilesStorage",
        )
    },
}
# Serve straight from the apps when collectstatic has not run (tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Logging --------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_identifiers": {"()": "espace_sante.identity.logging.MaskIdentifiersFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_identifiers"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        # APScheduler says "Running job…" at each fire; ours says what matters.
        "apscheduler": {"level": "WARNING"},
    },
}

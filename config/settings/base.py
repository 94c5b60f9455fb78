from __future__ import annotations

from pathlib import Path

from config.env import env_bool, env_list, env_str
from config.secret import install_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent.parent

RAF_ENV = env_str("RAF_ENV", "development")
# The value the project once shipped: refused everywhere (anything signed with it is forgeable).
DEFAULT_SECRET_KEY = "dev-only-insecure-secret-key-change-me"
# Production names its key; elsewhere each install generates its own on first run, kept in
# var/secret_key (RAF_SECRET_KEY_FILE), so no two installs share a signing key.
SECRET_KEY = env_str("SECRET_KEY") or (
    ""
    if RAF_ENV == "production"
    else install_secret_key(Path(env_str("RAF_SECRET_KEY_FILE", str(BASE_DIR / "var" / "secret_key"))))
)
DEBUG = env_bool("DEBUG", RAF_ENV != "production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if RAF_ENV == "production" else "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "annotation",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves collected static files in production (the WSGI server serves none by itself).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Request bodies over the view's cap are refused before anything reads them (config.body_limits).
    "config.body_limits.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Login lockouts (django-axes); last, as its documentation asks.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Development serves static files straight from the apps; production from `collectstatic`.
WHITENOISE_USE_FINDERS = RAF_ENV != "production"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

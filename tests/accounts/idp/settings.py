"""A company identity provider for the single sign-on tests: django-oidc-provider served as its own
process, with its own SQLite database (IDP_DATABASE), users and groups. Not part of the portal."""

import os

SECRET_KEY = "identity-provider-for-tests"  # noqa: S105 - a throwaway IdP that lives for one test
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oidc_provider",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.accounts.idp.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["IDP_DATABASE"]}}
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(os.path.dirname(__file__), "templates")],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
USE_TZ = True
LOGIN_URL = "/login/"
# The IdP's session cookie must not overwrite the portal's on the same host (cookies ignore ports).
SESSION_COOKIE_NAME = "idp_session"
CSRF_COOKIE_NAME = "idp_csrftoken"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
OIDC_USERINFO = "tests.accounts.idp.claims.userinfo"
OIDC_EXTRA_SCOPE_CLAIMS = "tests.accounts.idp.claims.GroupClaims"
OIDC_IDTOKEN_INCLUDE_CLAIMS = True

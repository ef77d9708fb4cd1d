"""The one settings module of the Django test backend. serve.py
fills the AUTHGATE_* environment variables before Django reads this file."""
import os
from datetime import timedelta

SECRET_KEY = os.environ["AUTHGATE_DJANGO_SECRET"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "corsheaders",
]
MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",  # first, so preflights never reach the views
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "django_app.urls"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["AUTHGATE_DJANGO_DB"],
        # Concurrent rotations write the blacklist; wait for the lock rather than fail.
        "OPTIONS": {"timeout": 20},
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=int(os.environ["AUTHGATE_ACCESS_TTL"])),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # The stock serializers plus a revocation generation, for POST /__revoke (see views.py).
    "TOKEN_OBTAIN_SERIALIZER": "django_app.views.ObtainPairWithGeneration",
    "TOKEN_REFRESH_SERIALIZER": "django_app.views.RefreshUnlessRevoked",
}

CORS_ALLOWED_ORIGINS = [o for o in os.environ["AUTHGATE_ALLOW_ORIGINS"].split(",") if o]
CORS_ALLOW_CREDENTIALS = True

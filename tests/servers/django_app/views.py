"""Views of the Django test backend and the state behind its test hooks."""
import json
from datetime import timedelta

from django.http import JsonResponse
from django.views.decorators.http import require_GET, require_POST
from rest_framework.decorators import api_view
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from common import Counters

LOGIN_PATH = "/api/v1/auth/token/"
REFRESH_PATH = "/api/v1/auth/token/refresh/"
COUNTERS = Counters(LOGIN_PATH, REFRESH_PATH)

# simplejwt only records login-issued refresh tokens as outstanding, not the
# ones minted by rotation, so "blacklist every outstanding token" would miss
# live sessions. Instead every refresh token carries the generation it was
# issued in (rotation copies the claim) and /__revoke starts a new generation.
REVOCATION = {"generation": 0}


class ObtainPairWithGeneration(TokenObtainPairSerializer):
    @classmethod
    def get_token(cls, user):
        token = super().get_token(user)
        token["gen"] = REVOCATION["generation"]
        return token


class RefreshUnlessRevoked(TokenRefreshSerializer):
    def validate(self, attrs):
        if RefreshToken(attrs["refresh"]).get("gen") != REVOCATION["generation"]:
            raise TokenError("Token has been revoked")  # TokenRefreshView answers 401
        return super().validate(attrs)


@api_view(["GET"])
def system_status(request):
    return Response({
        "status": "healthy",
        "user": request.user.username,
        "statistics": {"total_backups": 10, "successful_backups": 8, "failed_backups": 2},
    })


@require_GET
def get_counters(request):
    return JsonResponse(COUNTERS.snapshot())


@require_POST
def reset(request):
    COUNTERS.reset()
    return JsonResponse({"ok": True})


@require_POST
def revoke(request):
    REVOCATION["generation"] += 1
    return JsonResponse({"ok": True})


@require_POST
def control(request):
    ttl = int(json.loads(request.body)["access_ttl"])
    # RefreshToken.access_token reads the lifetime from the class at call time.
    AccessToken.lifetime = timedelta(seconds=ttl)
    return JsonResponse({"access_ttl": ttl})

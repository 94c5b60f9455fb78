"""Token auth for scripts: trade a username and password for an API token.

Send it as ``Authorization: Token <key>``. Wrong passwords count towards django-axes' lockout
of the username and of the client address (429 ``locked_out``), and the endpoint is throttled
per client address (``RAF_TOKEN_RATE``). Admins can also mint one with
``manage.py drf_create_token <username>``.
"""

from __future__ import annotations

from axes.exceptions import AxesBackendPermissionDenied
from axes.handlers.proxy import AxesProxyHandler
from django.urls import URLPattern, path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.throttling import TokenThrottle


class AuthTokenApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [TokenThrottle]

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(request=AuthTokenSerializer, responses={200: OutputSerializer})
    def post(self, request: Request) -> Response:
        username = request.data.get("username") if isinstance(request.data, dict) else None
        if not AxesProxyHandler.is_allowed(request, {"username": username if isinstance(username, str) else None}):
            # Locked out: answered 429 locked_out (annotation.apis.errors), the right password too.
            raise AxesBackendPermissionDenied("locked out")
        data = AuthTokenSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=data.validated_data["user"])
        return Response({"token": token.key})


urlpatterns: list[URLPattern] = [path("auth/token", AuthTokenApi.as_view(), name="auth-token")]

"""Token auth for scripts: trade a username and password for an API token.

Send it as ``Authorization: Token <key>``. Admins can also mint one with
``manage.py drf_create_token <username>``.
"""

from __future__ import annotations

from django.urls import URLPattern, path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView


class TokenThrottle(AnonRateThrottle):
    rate = "30/minute"


class AuthTokenApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [TokenThrottle]

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(request=AuthTokenSerializer, responses={200: OutputSerializer})
    def post(self, request: Request) -> Response:
        data = AuthTokenSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=data.validated_data["user"])
        return Response({"token": token.key})


urlpatterns: list[URLPattern] = [path("auth/token", AuthTokenApi.as_view(), name="auth-token")]

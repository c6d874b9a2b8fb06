"""Sign-in for integrations (API tokens) and for the browser (session + CSRF)."""

from __future__ import annotations

from django.contrib.auth import authenticate, login, logout
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .errors import WrongCredentials
from .serializers import CredentialsSerializer, MeSerializer, SessionSerializer, TokenSerializer
from .throttling import ScopedRateThrottle


def _authenticate(request: Request):  # type: ignore[no-untyped-def]
    serializer = CredentialsSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    user = authenticate(request._request, **serializer.validated_data)
    if user is None:
        raise WrongCredentials
    return user


class TokenView(APIView):
    """`POST` credentials for an API token (the same one each time); `DELETE` revokes it."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    def get_permissions(self):  # type: ignore[no-untyped-def]
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    def get_authenticators(self):  # type: ignore[no-untyped-def]
        # Posting credentials must not need a CSRF token from a stale session cookie.
        return [] if self.request and self.request.method == "POST" else super().get_authenticators()

    @extend_schema(request=CredentialsSerializer, responses={200: TokenSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        user = _authenticate(request)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


@method_decorator(ensure_csrf_cookie, name="dispatch")
class SessionView(APIView):
    """The browser's sign-in: `GET` who is signed in (and a CSRF cookie), `POST` sign in, `DELETE` out."""

    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(responses={200: SessionSerializer})
    def get(self, request: Request) -> Response:
        user = request.user if request.user.is_authenticated else None
        return Response({"user": MeSerializer(user).data if user else None})

    @extend_schema(request=CredentialsSerializer, responses={200: SessionSerializer})
    def post(self, request: Request) -> Response:
        # A sign-in form is a CSRF target too (login CSRF): the page's GET set the cookie.
        SessionAuthentication().enforce_csrf(request)
        user = _authenticate(request)
        login(request._request, user)
        return Response({"user": MeSerializer(user).data})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)

"""DRF authentication by `Authorization: Api-Key <key>`; the request user is the AgentClient."""

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from calls.edges.api_keys import client_for_key
from calls.models import AgentClient


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request: Request) -> tuple[AgentClient, None] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, key = header.partition(" ")
        if scheme != self.keyword or not key.strip():
            raise exceptions.AuthenticationFailed("Authorization must be 'Api-Key <key>'")
        client = client_for_key(key.strip())
        if client is None:
            raise exceptions.AuthenticationFailed("unknown or revoked API key")
        client.is_authenticated = True
        return client, None

    def authenticate_header(self, request: Request) -> str:
        return self.keyword

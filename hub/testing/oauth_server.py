"""An OAuth 2.0 authorisation server for vendor sandboxes, on Authlib (the library the hub's client side uses).

A sandbox of an OAuth vendor adds it to its app and checks bearer tokens where the vendor would::

    class SandboxState(Sandbox):
        name = "acme"
        vendor_knobs = {**OAUTH_KNOBS}

    def create_app(**knobs) -> Flask:
        state = SandboxState(**knobs)
        app = state.create_app()
        provider = OAuthProvider(state, clients={"demo-client": "demo-secret"})
        provider.init_app(app)               # GET /oauth/authorize, POST /oauth/token

        @app.get("/api/me")
        def me():
            if (denied := provider.deny()):  # 401 unless a valid, unexpired bearer token of a live grant
                return denied
            ...

The authorisation page approves at once as the sandbox's demo user (no consent screen: a browser test goes
straight back to the hub). Authorisation codes carry PKCE (S256 required when the client sent a challenge).

Knobs (:data:`OAUTH_KNOBS`, changeable at run time like every kit knob):

* ``oauth_access_ttl`` — seconds an access token lives (``expires_in``); the sandbox refuses it afterwards.
* ``oauth_rotate`` — a refresh issues a new refresh token and spends the old one; presenting a spent one again
  **revokes the whole grant** (reuse detection, as real providers do).
* ``oauth_revoked`` — every grant is revoked: bearer tokens get 401, refreshes ``invalid_grant``.
* ``oauth_token_latency_ms`` — the token endpoint answers this much later (a slow vendor; two workers racing).

``provider.grants`` lists every grant with its state; ``provider.refreshes`` counts refresh requests answered.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Mapping
from typing import Any

from authlib.common.security import generate_token
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, Response, jsonify, request

from hub.testing.sandbox import Sandbox

__all__ = ["OAUTH_KNOBS", "OAuthProvider"]

OAUTH_KNOBS: dict[str, Any] = {
    "oauth_access_ttl": 3600,
    "oauth_rotate": True,
    "oauth_revoked": False,
    "oauth_token_latency_ms": 0.0,
}
AUTHORIZE_PATH, TOKEN_PATH = "/oauth/authorize", "/oauth/token"


@dataclasses.dataclass
class _Client:
    client_id: str
    secret: str = dataclasses.field(repr=False)  # Authlib logs the client at DEBUG

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return bool(redirect_uri)

    def check_client_secret(self, client_secret: str) -> bool:
        return client_secret == self.secret

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post") if self.secret else method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclasses.dataclass
class _User:
    name: str = "demo"

    def get_user_id(self) -> str:
        return self.name


@dataclasses.dataclass
class _Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclasses.dataclass
class Grant:
    """One authorisation (a connect), with every token issued under it."""

    id: int
    client_id: str
    scope: str
    revoked: bool = False
    reason: str = ""


@dataclasses.dataclass
class _Token:
    access_token: str
    refresh_token: str | None
    grant: Grant
    issued_at: float
    expires_in: int
    spent: bool = False  # the refresh token was rotated away

    def check_client(self, client: _Client) -> bool:
        return client.client_id == self.grant.client_id

    def get_scope(self) -> str:
        return self.grant.scope


class OAuthProvider:
    """The authorisation server of one sandbox app (state in memory, knobs from the sandbox)."""

    def __init__(self, sandbox: Sandbox, *, clients: Mapping[str, str], user: str = "demo") -> None:
        self.sandbox = sandbox
        self.clients = {cid: _Client(cid, secret) for cid, secret in clients.items()}
        self.user = _User(user)
        self.codes: dict[str, _Code] = {}
        self.tokens: list[_Token] = []
        self.grants: list[Grant] = []
        self.refreshes = 0
        self._ids = itertools.count(1)
        self.server = AuthorizationServer(query_client=self.clients.get, save_token=self._save_token)
        self.server.register_token_generator("default", BearerTokenGenerator(
            lambda **kw: generate_token(40), lambda **kw: generate_token(48),
            lambda client, grant_type: int(self.sandbox.knobs.get("oauth_access_ttl") or 0)))
        self.server.register_grant(_code_grant(self), [CodeChallenge(required=False)])
        self.server.register_grant(_refresh_grant(self))

    def init_app(self, app: Flask) -> None:
        inner = app.wsgi_app

        def https(environ: dict, start_response: Any) -> Any:  # the sandbox stands for an https vendor
            if environ.get("PATH_INFO", "").startswith("/oauth/"):
                environ["wsgi.url_scheme"] = "https"
            return inner(environ, start_response)

        app.wsgi_app = https  # type: ignore[method-assign]
        app.add_url_rule(AUTHORIZE_PATH, "oauth_authorize", self._authorize, methods=["GET"])
        app.add_url_rule(TOKEN_PATH, "oauth_token", self._token, methods=["POST"])

    # -- endpoints -------------------------------------------------------------------------------------------
    def _authorize(self) -> Response:
        return self.server.create_authorization_response(grant_user=self.user)

    def _token(self) -> Response:
        latency = float(self.sandbox.knobs.get("oauth_token_latency_ms") or 0)
        if latency:
            time.sleep(latency / 1000)
        with self.sandbox.lock:  # one token request at a time: the reuse check and the rotation are one step
            return self.server.create_token_response()

    # -- state -------------------------------------------------------------------------------------------------
    def _save_token(self, token: dict[str, Any], oauth_request: Any) -> None:
        old = getattr(oauth_request, "refresh_token", None)
        if isinstance(old, _Token):
            grant = old.grant
        else:
            grant = Grant(next(self._ids), oauth_request.client.client_id, token.get("scope") or "")
            self.grants.append(grant)
        refresh = token.get("refresh_token") or (old.refresh_token if isinstance(old, _Token) else None)
        self.tokens.append(_Token(token["access_token"], refresh, grant, time.time(), int(token["expires_in"])))

    def _live(self, grant: Grant) -> bool:
        return not grant.revoked and not self.sandbox.knobs.get("oauth_revoked")

    def find_refresh(self, refresh_token: str) -> _Token | None:
        """The token a refresh presents; a spent (rotated) one revokes its grant."""
        found = [t for t in self.tokens if t.refresh_token == refresh_token]
        if not found:
            return None
        token = found[-1]
        if token.spent:
            token.grant.revoked, token.grant.reason = True, "refresh token reused"
        return token if self._live(token.grant) else None

    def spend(self, token: _Token) -> None:
        if self.sandbox.knobs.get("oauth_rotate", True):
            for t in self.tokens:
                if t.refresh_token == token.refresh_token:
                    t.spent = True

    def revoke_all(self, reason: str = "revoked") -> None:
        for grant in self.grants:
            grant.revoked, grant.reason = True, reason

    def live_grants(self) -> list[Grant]:
        return [g for g in self.grants if self._live(g)]

    def bearer(self) -> _Token | None:
        """The valid token of the current request's ``Authorization: Bearer`` header, or None."""
        scheme, _, value = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not value:
            return None
        for token in reversed(self.tokens):
            if token.access_token == value:
                fresh = token.issued_at + token.expires_in > time.time()
                return token if fresh and self._live(token.grant) else None
        return None

    def deny(self) -> tuple[Response, int] | None:
        """A 401 answer (``invalid_token``, RFC 6750) unless the request carries a valid bearer token."""
        if self.bearer() is not None:
            return None
        response = jsonify(error="invalid_token", error_description="The access token is invalid or expired.")
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response, 401


def _code_grant(provider: OAuthProvider) -> type:
    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

        def save_authorization_code(self, code: str, oauth_request: Any) -> None:
            data = oauth_request.payload.data
            provider.codes[code] = _Code(code, oauth_request.client.client_id, oauth_request.payload.redirect_uri,
                                         oauth_request.payload.scope or "", data.get("code_challenge"),
                                         data.get("code_challenge_method"))

        def query_authorization_code(self, code: str, client: _Client) -> _Code | None:
            found = provider.codes.get(code)
            return found if found is not None and found.client_id == client.client_id else None

        def delete_authorization_code(self, authorization_code: _Code) -> None:
            provider.codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code: _Code) -> _User:
            return provider.user

    return CodeGrant


def _refresh_grant(provider: OAuthProvider) -> type:
    class RefreshGrant(grants.RefreshTokenGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

        @property
        def INCLUDE_NEW_REFRESH_TOKEN(self) -> bool:  # noqa: N802 — Authlib's name
            return bool(provider.sandbox.knobs.get("oauth_rotate", True))

        def authenticate_refresh_token(self, refresh_token: str) -> _Token | None:
            provider.refreshes += 1
            return provider.find_refresh(refresh_token)

        def authenticate_user(self, refresh_token: _Token) -> _User:
            return provider.user

        def revoke_old_credential(self, refresh_token: _Token) -> None:
            provider.spend(refresh_token)

    return RefreshGrant

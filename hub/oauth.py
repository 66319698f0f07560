"""OAuth 2.0 for vendors that declare it (``VendorInfo.oauth``, contract 1.2), on Authlib.

* **Connect** — :func:`begin` sends the admin to the vendor's authorisation page with a fresh ``state`` and a PKCE
  challenge; what the callback needs (firm, admin, verifier) is kept encrypted in Redis under the state for
  ``FLOW_TTL`` and used once. :func:`complete` refuses a state that is unknown, used, or started by another admin
  or firm, then exchanges the code and stores the grant.
* **Where tokens live** — one :class:`hub.models.OAuthGrant` per firm integration, the tokens vault-encrypted
  (an ``Encrypted`` column: key rotation covers them).
* **Refresh** — :func:`access_token` returns a token valid for at least ``LEEWAY``; one about to expire is
  refreshed in a transaction of its own that first locks the grant's row (``SELECT … FOR UPDATE``): a second
  worker waits, then reads the token the first one stored, so a rotating refresh token is spent once. The new
  tokens are committed at once, whatever the job does afterwards.
* **Revocation** — the vendor refusing the refresh token (``invalid_grant`` and the like) marks the grant revoked
  and raises :class:`~hub.errors.AuthError`: :func:`hub.vendor_accounts.call_vendor` records it, so the connection
  needs attention and the Connect tab offers Reconnect.

The hub's app at the vendor (client id and secret) is configured by the operator: ``HUB_<SLUG>_OAUTH_CLIENT_ID``
and ``HUB_<SLUG>_OAUTH_CLIENT_SECRET``.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import sqlalchemy as sa
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError

from hub import redaction
from hub.errors import AuthError, ConfigError, TransientError
from hub.http import failure_words
from hub.models import Integration, OAuthGrant, User, db, utcnow
from hub.services import services
from hub.types import OAuthSpec, VendorInfo

with warnings.catch_warnings():  # Authlib 1.9 announces a move of its httpx client (AuthlibDeprecationWarning) on
    # import, on standard error of every process that loads this module: not the operator's concern (it would
    # also break the one log format); the client works as documented.
    import authlib.deprecate  # noqa: F401  (importing it puts an "always" filter first: ours goes after it)

    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import OAuth2Client

#: How long an authorisation started on the Connect tab may take (seconds).
FLOW_TTL = 600
#: An access token is refreshed when it expires within this long.
LEEWAY = dt.timedelta(seconds=60)
#: What the token endpoint answers when a refresh token is no longer good (RFC 6749 §5.2; some vendors say
#: ``invalid_token`` or ``unauthorized_client`` for a revoked app).
REVOKED_ERRORS = frozenset({"invalid_grant", "invalid_token", "unauthorized_client", "invalid_client"})


def client_settings(slug: str) -> tuple[str, str]:
    """The operator's ``(client id, client secret)`` of the hub's app at the vendor (the secret may be empty for a
    public client)."""
    prefix = f"HUB_{slug.upper()}_OAUTH_CLIENT_"
    client_id, secret = os.environ.get(prefix + "ID", ""), os.environ.get(prefix + "SECRET", "")
    redaction.register_secret(secret)
    return client_id, secret


def configured(info: VendorInfo) -> bool:
    return info.oauth is not None and bool(client_settings(info.slug)[0])


class _OriginTransport(httpx.BaseTransport):
    """Sends requests for the vendor's real URLs to ``origin`` (a sandbox), the real host in ``Host``
    (as :class:`hub.http.VendorHttp` does for a plugin's requests)."""

    def __init__(self, origin: str, inner: httpx.BaseTransport) -> None:
        self.origin = httpx.URL(origin)
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["Host"] = request.url.netloc.decode("ascii")
        request.url = request.url.copy_with(scheme=self.origin.scheme, host=self.origin.host, port=self.origin.port)
        return self.inner.handle_request(request)


def to_origin(url: str, origin: str | None) -> str:
    """``url`` on ``origin`` (for the browser: a sandbox's authorisation page)."""
    if not origin:
        return url
    real, target = httpx.URL(url), httpx.URL(origin)
    return str(real.copy_with(scheme=target.scheme, host=target.host, port=target.port))


def _client(info: VendorInfo, origin: str | None, redirect_uri: str | None = None) -> OAuth2Client:
    spec: OAuthSpec = info.oauth  # type: ignore[assignment]
    client_id, secret = client_settings(info.slug)
    if not client_id:
        raise ConfigError(f"The operator has not configured the hub's {info.name} app.",
                          hint=f"Set HUB_{info.slug.upper()}_OAUTH_CLIENT_ID (and _SECRET) on the hub's servers.")
    kwargs: dict[str, Any] = {"timeout": httpx.Timeout(30.0, connect=10.0)}
    if origin:
        kwargs["transport"] = _OriginTransport(origin, httpx.HTTPTransport())
    return OAuth2Client(client_id=client_id, client_secret=secret or None, token_endpoint_auth_method=spec.client_auth,
                        scope=" ".join(spec.scopes) or None, redirect_uri=redirect_uri,
                        code_challenge_method="S256" if spec.pkce else None, **kwargs)


def _flow_key(state: str) -> str:
    return f"hub:oauth:flow:{state}"


# -- connect ---------------------------------------------------------------------------------------------------
def begin(integration: Integration, info: VendorInfo, user: User, redirect_uri: str, origin: str | None) -> str:
    """The URL of the vendor's authorisation page for ``user`` connecting ``integration`` (state and PKCE kept)."""
    spec = info.oauth
    if spec is None:
        raise ConfigError(f"{info.name} does not authorise with OAuth 2.0.")
    client = _client(info, origin, redirect_uri)
    state = generate_token(43)
    verifier = generate_token(64) if spec.pkce else None
    flow = {"firm_id": integration.firm_id, "user_id": user.id, "integration_id": integration.id,
            "vendor": info.slug, "verifier": verifier, "redirect_uri": redirect_uri}
    svc = services()
    svc.redis.set(_flow_key(state), svc.vault.encrypt(flow), ex=FLOW_TTL)
    url, _state = client.create_authorization_url(spec.authorize_url, state=state, code_verifier=verifier,
                                                  **dict(spec.extra_params))
    client.close()
    return to_origin(url, origin)


def complete(info: VendorInfo, user: User, args: dict[str, str], origin: str | None) -> Integration:
    """The vendor sent the admin back (``args``: the callback's query): check the state against the admin and firm
    that started it, exchange the code (with the PKCE verifier), store the grant. Raises :class:`ConfigError` with
    what to do for a refused, expired or foreign callback."""
    state = args.get("state") or ""
    svc = services()
    raw = svc.redis.getdel(_flow_key(state)) if state else None
    if raw is None:
        raise ConfigError("This sign-in is unknown, expired or was already used.",
                          hint=f"Click Connect with {info.name} again.")
    flow = svc.vault.decrypt(raw.decode() if isinstance(raw, bytes) else raw)
    if (flow["firm_id"], flow["user_id"], flow["vendor"]) != (user.firm_id, user.id, info.slug):
        raise ConfigError(f"This {info.name} sign-in was started by another user or for another firm.",
                          hint=f"Click Connect with {info.name} yourself, signed in to the hub as the admin "
                               "who connects it.")
    if args.get("error"):
        said = args.get("error_description") or args["error"]
        raise ConfigError(f"{info.name} did not authorise the hub: {said}.",
                          hint=f"Click Connect with {info.name} again and allow access.")
    integration = db.session.get(Integration, flow["integration_id"])
    if integration is None or integration.firm_id != user.firm_id:
        raise ConfigError("The integration of this sign-in is gone.", hint="Enable it and connect again.")
    client = _client(info, origin, flow["redirect_uri"])
    try:
        token = client.fetch_token(info.oauth.token_url, code=args.get("code") or "",
                                   code_verifier=flow.get("verifier"))
    except OAuthError as exc:
        raise ConfigError(f"{info.name} refused the sign-in code ({exc.error}).",
                          hint=f"Click Connect with {info.name} again.") from None
    except (httpx.HTTPError, ValueError) as exc:
        raise TransientError(_token_endpoint_failed(info, exc), hint="Try again in a moment.") from None
    finally:
        client.close()
    grant = OAuthGrant.query.filter_by(integration_id=integration.id).one_or_none()
    if grant is None:
        grant = OAuthGrant(integration_id=integration.id)
        db.session.add(grant)
    _store(grant, token)
    grant.revoked_at, grant.refreshed_at = None, None
    grant.connected_by, grant.connected_at = user.id, utcnow()
    db.session.commit()
    return integration


def _token_endpoint_failed(info: VendorInfo, exc: Exception) -> str:
    """In words: the token endpoint could not be reached, or answered something that is not a token."""
    if isinstance(exc, httpx.TransportError):
        return f"Could not reach {info.name}'s token endpoint: {failure_words(exc)}."
    return f"{info.name}'s token endpoint answered with something that is not a token (a fault on its side)."


def _expiry(token: dict[str, Any]) -> dt.datetime | None:
    if token.get("expires_at"):
        return dt.datetime.fromtimestamp(int(token["expires_at"]), dt.UTC).replace(tzinfo=None)
    if token.get("expires_in"):
        return utcnow() + dt.timedelta(seconds=int(token["expires_in"]))
    return None


def _store(grant: OAuthGrant, token: dict[str, Any]) -> None:
    values = {k: token[k] for k in ("access_token", "refresh_token", "token_type") if token.get(k)}
    redaction.register_secrets(list(values.values()))
    grant.tokens = services().vault.encrypt(values)
    grant.scope = token.get("scope") or grant.scope
    grant.expires_at = _expiry(token)


# -- reading and refreshing -------------------------------------------------------------------------------------
def grant_of(integration: Integration) -> OAuthGrant | None:
    return OAuthGrant.query.filter_by(integration_id=integration.id).one_or_none()


def connected(integration: Integration | None) -> bool:
    """Whether ``integration`` has a grant the vendor has not revoked."""
    grant = grant_of(integration) if integration is not None and integration.id else None
    return grant is not None and grant.revoked_at is None


def _revoked(info: VendorInfo) -> AuthError:
    return AuthError(f"{info.name} no longer accepts the hub's authorisation (the grant was revoked or expired).",
                     hint=f"Click Reconnect on the Connect tab and sign in to {info.name} again.")


def _fresh(row: Any, now: dt.datetime) -> bool:
    return row.expires_at is None or row.expires_at - LEEWAY > now


def access_token(integration_id: int, info: VendorInfo, origin: str | None, *,
                 rejected: str | None = None) -> tuple[str, dt.datetime | None]:
    """A valid access token of the integration's grant and its expiry, refreshed first when it expires within
    ``LEEWAY`` (under the grant's row lock, in a transaction of its own, committed at once).

    ``rejected``: an access token the vendor has just refused (401) before its expiry — revoked on its side, or
    a clock apart. If it is still the stored one, it is refreshed now; if another worker has replaced it
    meanwhile, that one is returned (one refresh, however many requests were refused)."""
    table = OAuthGrant.__table__
    vault = services().vault
    revoked = False
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.integration_id == integration_id)).one_or_none()
        if row is None:
            raise ConfigError(f"{info.name} is not connected.", hint=f"Click Connect with {info.name}.")
        if row.revoked_at is not None:
            raise _revoked(info)
        if _fresh(row, utcnow()):
            access = vault.decrypt(row.tokens)["access_token"]
            if access != rejected:
                return access, row.expires_at
        conn.rollback()
        with conn.begin():  # the lock: a second worker waits here, then finds the token the first one stored
            row = conn.execute(sa.select(table).where(table.c.integration_id == integration_id)
                               .with_for_update()).one()
            tokens = vault.decrypt(row.tokens)
            if row.revoked_at is not None:
                raise _revoked(info)
            if _fresh(row, utcnow()) and tokens["access_token"] != rejected:
                return tokens["access_token"], row.expires_at
            values = _refresh(info, origin, tokens)
            conn.execute(sa.update(table).where(table.c.id == row.id).values(**values))
            if values.get("revoked_at"):
                revoked = True
            else:
                return vault.decrypt(values["tokens"])["access_token"], values["expires_at"]
    assert revoked  # committed first: the next call fails at once, without asking the vendor again
    raise _revoked(info)


def _refresh(info: VendorInfo, origin: str | None, tokens: dict[str, Any]) -> dict[str, Any]:
    """The grant's new column values after asking the token endpoint (``revoked_at`` set when it refused)."""
    if not tokens.get("refresh_token"):
        return {"revoked_at": utcnow()}
    client = _client(info, origin)
    try:
        token = client.refresh_token(info.oauth.token_url, refresh_token=tokens["refresh_token"])
    except OAuthError as exc:
        if exc.error in REVOKED_ERRORS:
            return {"revoked_at": utcnow()}
        raise TransientError(f"{info.name}'s token endpoint refused a refresh ({exc.error}).",
                             hint="The hub will try again later.") from None
    except (httpx.HTTPError, ValueError) as exc:
        raise TransientError(_token_endpoint_failed(info, exc), hint="The hub will try again later.") from None
    finally:
        client.close()
    grant = OAuthGrant()
    _store(grant, {"refresh_token": tokens["refresh_token"], **dict(token)})
    return {"tokens": grant.tokens, "expires_at": grant.expires_at, "scope": grant.scope, "refreshed_at": utcnow()}


def bearer(integration_id: int, info: VendorInfo, origin: str | None) -> Callable[..., str]:
    """What :class:`hub.http.VendorHttp` asks for each request's ``Authorization: Bearer`` token: read once, and
    again (refreshed if needed) only when the one it has expires within ``LEEWAY`` — or when the vendor refused it
    (``token(rejected=<it>)``, after a 401)."""
    held: dict[str, Any] = {}

    def token(rejected: str | None = None) -> str:
        expires = held.get("expires")
        if "token" not in held or rejected is not None or (expires is not None and expires - LEEWAY <= utcnow()):
            held["token"], held["expires"] = access_token(integration_id, info, origin, rejected=rejected)
        return held["token"]

    return token

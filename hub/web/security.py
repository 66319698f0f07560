"""What every response of the hub gets, pages and API alike: security headers (``Cache-Control: no-store``
except on static files: a new API token, a webhook secret, a set-password link is never kept by a cache), a
session cookie whose ``Secure`` flag follows the scheme, a request-body limit, input no part of the hub can hold
refused in words, the reverse-proxy setting, and sign-in throttling.

| setting (config or environment) | default                                                               |
|---------------------------------|-----------------------------------------------------------------------|
| ``HUB_MAX_CONTENT_LENGTH``      | 1 MiB (``MAX_CONTENT_LENGTH``): a larger body is a ``413`` unread     |
| ``HUB_PROXY_HOPS``              | 0; behind N trusted proxies, N (``X-Forwarded-For``/``-Proto``)       |
| ``HUB_LOGIN_LIMIT_ACCOUNT``     | ``5 per minute; 20 per hour`` failed sign-ins per e-mail *from one    |
|                                 | address*                                                              |
| ``HUB_LOGIN_LIMIT_ADDRESS``     | ``20 per minute; 100 per hour`` failed sign-ins per client address    |

Throttling counts **failed** sign-ins only (a wrong password, a missing CSRF token), in the hub's Redis
(Flask-Limiter, moving window), so every web process shares the counts; once a limit is reached every
attempt for that account from that address, or from that address at all, is a ``429`` with ``Retry-After`` —
the right password too — until the window has moved on. An account is never locked as such: wrong guesses
from elsewhere do not keep its owner out. The client address is the socket's peer, or with
``HUB_PROXY_HOPS`` the one the trusted proxy saw (:func:`proxy_hops`).
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

from flask import Flask, Response, abort, current_app, has_request_context, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP 2
}
MAX_CONTENT_LENGTH = 1024 * 1024
LOGIN_LIMIT_ACCOUNT = "5 per minute; 20 per hour"
LOGIN_LIMIT_ADDRESS = "20 per minute; 100 per hour"
LOGIN_ENDPOINT = "web.login"


class SchemeSessionInterface(SecureCookieSessionInterface):
    """The session cookie is ``Secure`` whenever the request came over HTTPS (``SESSION_COOKIE_SECURE``
    set to true makes it ``Secure`` always, e.g. behind a TLS proxy without ``HUB_PROXY_HOPS``)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)


def _security_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)  # a view may set a narrower policy of its own
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if not (request.endpoint or "").endswith("static"):  # pages and API answers are a firm's own, some carry a
        response.headers.setdefault("Cache-Control", "no-store")  # secret or a one-time link: never cached
    return response


def _refuse_big_bodies() -> None:
    """A body over ``MAX_CONTENT_LENGTH`` is a ``413`` before anything reads it (the CSRF check, a role check,
    the API's JSON parsing). Werkzeug's limited stream stops a body that does not say its length."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and (request.content_length or 0) > limit:
        abort(413, f"The request body is larger than {limit} bytes; send less.")


MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")
API_PATHS = "/api/"


def json_depth(body: bytes) -> int:
    """How deep arrays and objects nest in a JSON text (brackets inside strings do not count); counted without
    parsing it, so a body nested too deep for the parser is measured, not a ``RecursionError``."""
    depth = deepest = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub(b"", body)):
        depth += 1 if match.group() in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


#: The longest request target (path and query) the hub reads: gunicorn's default request-line limit, so the app —
#: not gunicorn's own HTML page — answers a longer one (``gunicorn.conf.py`` lets lines up to 8190 bytes through).
MAX_URI = 4094


def _refuse_long_uri() -> None:
    """A request target longer than ``MAX_URI`` is a ``414`` in words (a problem document on the API)."""
    path, query = request.environ.get("PATH_INFO", ""), request.environ.get("QUERY_STRING", "")
    if len(path) + len(query) + 1 > MAX_URI:
        abort(414, f"The address is longer than {MAX_URI} bytes; send fewer or shorter query values.")


def _refuse_unstorable_input() -> None:
    """Input no part of the hub can hold is a ``400`` in words before a view sees it: a JSON body nested deeper
    than ``MAX_JSON_DEPTH`` (the parser would overflow the stack; the hub's documents nest a few levels) or with a
    number longer than Python reads (4300 digits), and on
    the pages the NUL character in a query or a form (PostgreSQL's text cannot store it; the API answers it with
    its own ``422``, :mod:`hub.api.common`)."""
    if request.is_json:
        body = request.get_data(cache=True)
        if json_depth(body) > MAX_JSON_DEPTH:
            abort(400, f"The JSON body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels; send a "
                       "flatter document.")
        try:
            json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            pass  # not JSON: the view's parser says so in its own words
        except ValueError:  # Python's limit on integer digits (4300): no parser of the hub could read it
            abort(400, "A number in the JSON body has more digits than any field takes; send a shorter one.")
    if request.path.startswith(API_PATHS):
        return
    for where, values in (("address", request.args), ("form", request.form)):
        if any("\x00" in value for value in values.values()):
            abort(400, f"The {where} contains the NUL character, which no text can hold; remove it and try again.")


def proxy_hops(config: Any = None) -> int:
    """``HUB_PROXY_HOPS``: how many reverse proxies in front of the hub are trusted to set ``X-Forwarded-For`` and
    ``-Proto`` (the app's config, else the environment; 0 — trust no header — when unset). The app's
    ``ProxyFix`` is the only place these headers are read: ``gunicorn.conf.py`` reads this same setting and
    makes gunicorn trust none of them itself."""
    value = (config or {}).get("HUB_PROXY_HOPS")
    value = os.environ.get("HUB_PROXY_HOPS", "0") if value in (None, "") else value
    try:
        hops = int(value or 0)
    except ValueError:
        raise RuntimeError(f"HUB_PROXY_HOPS must be a whole number of proxies (0, 1, 2 ...), not {value!r}.") \
            from None
    if hops < 0:
        raise RuntimeError(f"HUB_PROXY_HOPS must be 0 or more, not {hops}.")
    return hops


def storage_uri(redis_url: str) -> str:
    """The hub's Redis URL in the form the ``limits`` library takes (a unix socket is ``redis+unix``)."""
    return "redis+unix" + redis_url[len("unix"):] if redis_url.startswith("unix://") else redis_url


def _sign_in_account() -> str:
    """The account *and* the address together: guesses from one place slow down that place only, so nobody
    elsewhere can keep an account's owner signed out by guessing wrong on purpose."""
    return "account:" + request.form.get("email", "").strip().lower() + "@" + get_remote_address()


def _failed(response: Response) -> bool:
    """A sign-in that did not succeed (success is the redirect into the app)."""
    return response.status_code != 302


def _too_many(limit: RequestLimit) -> Response:
    """The sign-in page again, saying to wait (``429`` with ``Retry-After``); nothing was checked."""
    retry_after = max(1, int(limit.reset_at - time.time()))
    body = render_template("login.html", throttled=True, retry_minutes=max(1, round(retry_after / 60)))
    return Response(body, status=429, headers={"Retry-After": str(retry_after)})


def init_app(app: Flask) -> Limiter:
    """Register all of it on ``app`` (after the pages' blueprint: throttling wraps the sign-in view)."""
    if app.config.get("MAX_CONTENT_LENGTH") is None:  # Flask's default is None: no limit
        app.config["MAX_CONTENT_LENGTH"] = int(os.environ.get("HUB_MAX_CONTENT_LENGTH", MAX_CONTENT_LENGTH))
    hops = proxy_hops(app.config)
    app.config["HUB_PROXY_HOPS"] = hops  # what /metrics and the sign-in throttle read: one setting
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.session_interface = SchemeSessionInterface()
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_unstorable_input)
    app.before_request_funcs[None].insert(0, _refuse_big_bodies)  # first, before the CSRF check
    app.before_request_funcs[None].insert(0, _refuse_long_uri)
    app.after_request(_security_headers)

    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(app.extensions["hub"].redis_url))
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "hub:limits")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    limiter = Limiter(get_remote_address, app=app, on_breach=_too_many)
    account = app.config.get("HUB_LOGIN_LIMIT_ACCOUNT") or os.environ.get("HUB_LOGIN_LIMIT_ACCOUNT") or \
        LOGIN_LIMIT_ACCOUNT
    address = app.config.get("HUB_LOGIN_LIMIT_ADDRESS") or os.environ.get("HUB_LOGIN_LIMIT_ADDRESS") or \
        LOGIN_LIMIT_ADDRESS
    view: Any = app.view_functions[LOGIN_ENDPOINT]
    view = limiter.limit(address, methods=["POST"], deduct_when=_failed, scope="login-address")(view)
    view = limiter.limit(account, key_func=_sign_in_account, methods=["POST"], deduct_when=_failed,
                         scope="login-account")(view)
    app.view_functions[LOGIN_ENDPOINT] = view
    app.extensions["hub_limiter"] = limiter
    return limiter

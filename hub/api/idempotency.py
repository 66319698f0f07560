"""``Idempotency-Key`` for ``POST``\\ s that start vendor side effects (invoice export).

The first successful answer to a key is stored (``IdempotencyKey``: firm, key, method and path, a hash of
the body, status and body) and replayed on every repeat with ``Idempotent-Replayed: true``. The same key
with another request is a ``422``; a repeat while the first is still running is a ``409``. An answer that
is not a success is not stored: fix the request and send it again with the same key.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, json, make_response, request
from flask_smorest import Blueprint, abort
from sqlalchemy.exc import IntegrityError

from hub.api import auth, errors
from hub.models import IdempotencyKey, db

HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"^[!-~]{1,200}$")
PARAMETER = {
    "in": "header", "name": HEADER, "required": False,
    "schema": {"type": "string", "pattern": "^[!-~]{1,200}$"},
    "example": "3f1c9a7e-5b2d-4c1e-9f0a-7d6e5c4b3a21",
    "description": "Repeat the request safely: the first successful answer to a key is replayed "
                   "(with `Idempotent-Replayed: true`); the same key with a different request is a 422.",
}


REUSED = ("Invalid fields, or an `Idempotency-Key` already used with a different request (another body, "
          "path or method): send a new key for a new request. `errors` names the field or `Idempotency-Key`.")
IN_PROGRESS = "A request with this `Idempotency-Key` is still in progress: repeat it shortly."


def documented(blp: Blueprint) -> Callable:
    """Document an :func:`idempotent` operation: the header, its ``422`` (the key was used with another
    request) and its ``409`` (the first request with the key is still running). Put it above ``idempotent``."""

    def decorator(func: Callable) -> Callable:
        func = blp.doc(parameters=[PARAMETER])(func)
        func = blp.alt_response(409, schema=errors.ProblemSchema, content_type=errors.PROBLEM_JSON,
                                description=IN_PROGRESS + " (Or the operation's own conflict.)")(func)
        return blp.alt_response(422, schema=errors.ProblemSchema, content_type=errors.PROBLEM_JSON,
                                description=REUSED)(func)

    return decorator


def _request_hash() -> str:
    body = request.get_json(silent=True)
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _replay(row: IdempotencyKey) -> Any:
    stored = row.response or {}
    response = current_app.response_class(json.dumps(stored.get("body")), status=row.status_code,
                                          mimetype="application/json")
    if stored.get("location"):
        response.headers["Location"] = stored["location"]
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view: Callable) -> Callable:
    """Make a ``POST`` view honour the ``Idempotency-Key`` header (place it under the route decorator)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not KEY_RE.match(key):
            abort(422, errors={HEADER: ["Use 1 to 200 visible ASCII characters (e.g. a UUID)."]})
        firm_id, endpoint, digest = auth.firm_id(), f"{request.method} {request.path}", _request_hash()
        row = IdempotencyKey.query.filter_by(firm_id=firm_id, key=key).one_or_none()
        if row is None:
            row = IdempotencyKey(firm_id=firm_id, key=key, endpoint=endpoint[:300], request_hash=digest)
            db.session.add(row)
            try:
                db.session.commit()
            except IntegrityError:  # the same key, at the same moment, from another request
                db.session.rollback()
                abort(409, message="A request with this Idempotency-Key is in progress; repeat it shortly.")
        elif row.endpoint != endpoint[:300] or row.request_hash != digest:
            abort(422, errors={HEADER: ["This key was already used with a different request."]})
        elif row.status_code is None:
            abort(409, message="A request with this Idempotency-Key is in progress; repeat it shortly.")
        else:
            return _replay(row)
        row_id = row.id
        try:
            response = make_response(view(*args, **kwargs))
        except BaseException:
            _release(row_id)
            raise
        if 200 <= response.status_code < 300:
            row.status_code = response.status_code
            row.response = {"body": response.get_json(silent=True), "location": response.headers.get("Location")}
            db.session.commit()
        else:
            _release(row_id)
        return response

    return wrapped


def _release(row_id: int) -> None:
    """Forget a claimed key whose request did not succeed (the client may fix it and repeat)."""
    db.session.rollback()
    IdempotencyKey.query.filter_by(id=row_id).delete()
    db.session.commit()

"""``/api/v1/tokens``: firm admins create (shown once), list and revoke API tokens."""

from __future__ import annotations

from typing import Any

from hub.api import auth
from hub.api.common import doc_errors, make_blueprint, owned
from hub.api.schemas import NewTokenSchema, TokenSchema
from hub.models import ApiToken

blp = make_blueprint("api-tokens", "API tokens of the firm (admin role only).")


@blp.route("/tokens", methods=["GET"])
@auth.admin_required
@blp.response(200, TokenSchema(many=True))
@doc_errors(blp, 403)
def list_tokens() -> Any:
    """List the firm's API tokens (never the tokens themselves)."""
    return ApiToken.query.filter_by(firm_id=auth.firm_id()).order_by(ApiToken.id).all()


@blp.route("/tokens", methods=["POST"])
@auth.admin_required
@blp.arguments(TokenSchema, example={"name": "Billing export script", "role": "member"})
@blp.response(201, NewTokenSchema)
@doc_errors(blp, 403)
def create_token(data: dict[str, Any]) -> Any:
    """Create an API token. The token is in this response only: store it now."""
    new = auth.create_token(auth.firm_id(), name=data["name"], role=data["role"])
    row = new.token
    return {"id": row.id, "name": row.name, "role": row.role, "prefix": row.prefix, "created_at": row.created_at,
            "last_used_at": row.last_used_at, "revoked_at": row.revoked_at, "token": new.secret}


@blp.route("/tokens/<int:token_id>", methods=["DELETE"],
           parameters=[{"in": "path", "name": "token_id", "example": 1, "schema": {"type": "integer", "minimum": 0}}])
@auth.admin_required
@blp.response(204)
@doc_errors(blp, 403, 404)
def revoke_token(token_id: int) -> Any:
    """Revoke an API token (it stops working at once; revoking twice is harmless)."""
    token = owned(ApiToken, token_id, what="No such API token.")
    auth.revoke_token(token)
    return None

"""Schemathesis hooks for tests/api/test_conformance.py (loaded through ``SCHEMATHESIS_HOOKS``).

The run's own token must survive the run: a ``DELETE /api/v1/tokens/{id}`` that names it is sent for an id
that does not exist instead (a 404, still checked against the document)."""

import os

import schemathesis

RUNNING_TOKEN_ID = os.environ.get("HUB_CONFORMANCE_TOKEN_ID", "")


@schemathesis.hook
def before_call(context, case, kwargs):  # noqa: ANN001, ANN201
    if (RUNNING_TOKEN_ID and case.method.upper() == "DELETE" and case.path.endswith("/tokens/{token_id}")
            and str((case.path_parameters or {}).get("token_id")) == RUNNING_TOKEN_ID):
        case.path_parameters["token_id"] = 2**31 - 2

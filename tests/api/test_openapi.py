"""The OpenAPI document (valid, complete, with examples), the docs page, and the problem-details shape."""

import re

import pytest
from openapi_spec_validator import validate

from hub.api import errors


@pytest.fixture
def spec(hub_app):
    response = hub_app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method != "parameters":
                yield path, method, op


def test_document_is_valid_openapi(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.")


def test_every_operation_is_documented_with_auth_errors_and_examples(spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["security"] == [{"bearerAuth": []}]
    for path, method, op in operations(spec):
        where = f"{method.upper()} {path}"
        assert op.get("summary"), where
        assert "401" in op["responses"], where
        assert any(code.startswith("2") for code in op["responses"]), where
        if "{" in path:
            assert "404" in op["responses"], where
        if "requestBody" in op:
            assert "example" in op["requestBody"]["content"]["application/json"], where
    for item in spec["paths"].values():
        for param in item.get("parameters", []):
            assert "example" in param, param
    problem = spec["components"]["responses"]["UNAUTHORIZED"]["content"]
    assert list(problem) == ["application/problem+json"]


def test_document_covers_every_api_route(hub_app, spec):
    documented = list(spec["paths"])
    for rule in hub_app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint.startswith("api-") \
                and not rule.endpoint.startswith("api-docs"):
            # a parameter may be documented as itself or once per value (common.document_per_value)
            parts = re.split(r"<(?:\w+(?:\([^)]*\))?:)?\w+>", rule.rule)
            pattern = re.compile("^" + "[^/]+".join(re.escape(p) for p in parts) + "$")
            assert any(pattern.match(path) for path in documented), rule.rule


def test_vendor_credentials_are_components_with_write_only_secrets(spec):
    example = spec["components"]["schemas"]["Credentials_example"]
    assert example["properties"]["api_key"]["writeOnly"] is True


def test_browsable_page_is_self_contained(hub_app):
    response = hub_app.test_client().get("/api/v1/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "/api/v1/integrations/example/test-connection" in page
    assert "http://" not in page and "https://" not in page, "no CDN: the page works offline"


def test_unknown_path_and_wrong_method_are_problems(api):
    response = api.get("/nope")
    assert response.status_code == 404 and response.mimetype == errors.PROBLEM_JSON
    response = api.delete("/vendors")
    assert response.status_code == 405 and response.mimetype == errors.PROBLEM_JSON
    assert "GET" in response.headers["Allow"]


def test_pages_keep_their_own_error_pages(hub_app, hub_clean):
    response = hub_app.test_client().get("/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"


def test_malformed_json_is_a_problem(api):
    response = api.post("/custom-fields", data="{not json", headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 422) and response.mimetype == errors.PROBLEM_JSON


def test_text_that_cannot_be_stored_is_rejected(api):
    response = api.post("/custom-fields", json={"name": "a\x00b"})
    assert response.status_code == 422 and response.get_json()["errors"]["_request"]
    assert api.get("/runs", query_string={"kind": "\x00"}).status_code == 422


def test_unexpected_errors_never_leak_a_trace_or_secret(api, hub_app, monkeypatch):
    from hub.api import vendors

    def boom():
        raise RuntimeError("ex-good-key-0001 leaked")

    monkeypatch.setattr(vendors, "_all", boom)
    monkeypatch.setitem(hub_app.config, "PROPAGATE_EXCEPTIONS", False)
    response = api.get("/vendors")
    assert response.status_code == 500 and response.mimetype == errors.PROBLEM_JSON
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "ex-good-key-0001" not in text and "RuntimeError" not in text

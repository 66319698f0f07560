"""The documentation site (``make docs``) builds with warnings as errors, and its reference is generated from
the code: every hook, every field of a value crossing the contract, every error a plugin raises and every
member of ``ctx`` has an entry in the built site's inventory. A hook, field or member added without a
docstring (or left off the reference page) fails here."""

from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from hub import errors, hookspecs, types

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_TYPES = [types.Period, types.StatisticField, types.RateLimit, types.VendorInfo, types.OAuthSpec,
                types.ConnectionInfo,
                types.Contact, types.Address, types.VendorClient, types.Product, types.TaxRate, types.InvoiceParty,
                types.InvoiceLine, types.Invoice, types.ExportReceipt, types.Payment]
PUBLIC_ERRORS = [errors.HubError, errors.AuthError, errors.ConfigError, errors.RateLimited, errors.TransientError,
                 errors.VendorRejected, errors.NotSupported, errors.NotDone]


def inventory(path: Path) -> set[str]:
    """The object names in a Sphinx ``objects.inv`` (format 2: four header lines, then zlib-compressed lines of
    ``name domain:role priority uri display-name``)."""
    raw = path.read_bytes()
    header_end = 0
    for _ in range(4):
        header_end = raw.index(b"\n", header_end) + 1
    lines = zlib.decompress(raw[header_end:]).decode().splitlines()
    return {line.split(" ", 1)[0] for line in lines if line}


def expected_entries() -> set[str]:
    marker = f"{hookspecs.PROJECT}_spec"
    hooks = {f"hub.hookspecs.{name}" for name, fn in vars(hookspecs).items()
             if inspect.isfunction(fn) and hasattr(fn, marker)}
    fields = {f"hub.types.{cls.__name__}.{f.name}" for cls in PUBLIC_TYPES for f in dataclasses.fields(cls)}
    errs = {f"hub.errors.{cls.__name__}" for cls in PUBLIC_ERRORS}
    ctx = {f"hub.types.Context.{name}" for name in (*types.Context.__annotations__, "now", "parallel")}
    ctx |= {f"hub.types.Http.{name}" for name in ("request", "get", "post", "put", "delete", "sleep")}
    ctx |= {f"hub.types.Cache.{name}" for name in ("get", "set", "delete")}
    return hooks | fields | errs | ctx | {"hub.types.Statistics"}


def missing_entries(names: set[str]) -> list[str]:
    return sorted(expected_entries() - names)


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           str(ROOT / "docs"), str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


@pytest.mark.slow
@pytest.mark.packaging
def test_the_site_builds_with_warnings_as_errors_and_covers_the_contract(built_site: Path) -> None:
    names = inventory(built_site / "objects.inv")
    assert missing_entries(names) == []
    assert (built_site / "plugins" / "reference.html").exists() and (built_site / "operations.html").exists()


def test_a_hook_field_or_member_without_an_entry_is_found() -> None:
    everything = expected_entries()
    for name in ("hub.hookspecs.hub_fetch_payments", "hub.types.Invoice.language", "hub.types.Context.parallel"):
        assert missing_entries(everything - {name}) == [name]

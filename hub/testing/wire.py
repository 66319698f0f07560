"""The check a plugin's tests run over its table of wire facts (:mod:`hub.wire`), and where the vendors' published
artifacts are found.

``WireFact`` and ``SOURCE_KINDS`` live in :mod:`hub.wire` (a plugin reads its facts at run time, and nothing of
``hub.testing`` is imported at run time); they are offered here too, as in contract 1.1.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from hub.wire import SOURCE_KINDS, WireFact

__all__ = ["SOURCE_KINDS", "WireFact", "check_wire_facts", "vendor_specs"]


def check_wire_facts(facts: Mapping[str, WireFact], readme: str) -> None:
    """Fail (``AssertionError``) unless every fact names its source, and every ``assumed`` fact is named in
    the plugin's README (``readme`` is its text) so a reader knows it is unconfirmed."""
    problems = []
    for name, fact in facts.items():
        if not isinstance(fact, WireFact):
            problems.append(f"{name}: not a WireFact")
        elif fact.source != "assumed" and not fact.ref:
            problems.append(f"{name}: source {fact.source!r} without a reference")
        elif fact.source == "assumed" and f"`{name}`" not in readme:
            problems.append(f"{name}: assumed, but the README does not name `{name}` as assumed")
    assert not problems, "wire facts:\n" + "\n".join(problems)


def vendor_specs(*parts: str) -> Path:
    """The path of a vendor's published artifact (``vendor_specs("tripletex", "openapi.json")``).

    Artifacts written by vendors or independent developers live outside the project, in
    ``shared/vendor-specs/`` beside the checkout (or where ``HUB_VENDOR_SPECS`` points). Where they are absent
    the calling test is **skipped** with the reason — unless ``HUB_REQUIRE_VENDOR_SPECS=1`` (CI), where it fails.
    """
    import pytest  # only tests call this; the rest of the module is plain data

    configured = os.environ.get("HUB_VENDOR_SPECS")
    candidates = [Path(configured)] if configured else [
        parent / "shared" / "vendor-specs" for parent in (Path.cwd(), *Path.cwd().parents)]
    for base in candidates:
        path = base.joinpath(*parts)
        if path.exists():
            return path
    reason = (f"vendor artifact {'/'.join(parts)} not found (looked in "
              f"{', '.join(str(c) for c in candidates[:3])}…; set HUB_VENDOR_SPECS)")
    if os.environ.get("HUB_REQUIRE_VENDOR_SPECS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)

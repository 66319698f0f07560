"""The compatibility matrix: every plugin contract this hub claims to serve, held against the current code.

``tests/contract/<M.N>.json`` is the public surface of contract M.N as it was released: each hook with its
arguments, each field of the values crossing the contract, each error and each member of ``ctx``. A hub
serving ``HUB_API_VERSION`` promises that a plugin written for any ``M.n ≤ N`` of the same major still loads
and works, so nothing recorded for such a contract may be missing now — a change that would break an installed
plugin fails here, before release. The in-repo plugins and the scaffold are checked at the lowest contract they
declare (``requires_api``): they may only implement hooks and take arguments that contract had, and at the
current one (their own suites run on this hub).

Releasing a new minor contract: bump ``HUB_API_VERSION`` and record its surface with
``python tests/test_compat_matrix.py`` (writes ``tests/contract/<version>.json``)."""

from __future__ import annotations

import dataclasses
import inspect
import json
import sys
from importlib import metadata
from pathlib import Path

import pytest

from hub import errors, hookspecs, scaffold, types

SNAPSHOTS = Path(__file__).resolve().parent / "contract"


def surface() -> dict:
    """The public surface of the contract this hub provides."""
    marker = f"{hookspecs.PROJECT}_spec"
    hooks = {name: list(inspect.signature(fn).parameters) for name, fn in sorted(vars(hookspecs).items())
             if inspect.isfunction(fn) and hasattr(fn, marker)}
    values = {name: [f.name for f in dataclasses.fields(cls)] for name, cls in sorted(vars(types).items())
              if inspect.isclass(cls) and dataclasses.is_dataclass(cls) and cls.__module__ == types.__name__}
    raised = sorted(name for name, cls in vars(errors).items()
                    if inspect.isclass(cls) and issubclass(cls, errors.HubError) and name != "UnexpectedError")
    ctx = sorted({*types.Context.__annotations__, "now", "parallel"})
    return {"version": hookspecs.HUB_API_VERSION, "hooks": hooks, "types": values, "errors": raised, "ctx": ctx}


def removed_since(old: dict, new: dict) -> list[str]:
    """What ``old`` offered that ``new`` lacks: each would break a plugin written for ``old``."""
    gone = [f"hook {h}" for h in old["hooks"] if h not in new["hooks"]]
    gone += [f"argument {h}({a})" for h, args in old["hooks"].items() if h in new["hooks"]
             for a in args if a not in new["hooks"][h]]
    gone += [f"type {t}" for t in old["types"] if t not in new["types"]]
    gone += [f"field {t}.{f}" for t, fields in old["types"].items() if t in new["types"]
             for f in fields if f not in new["types"][t]]
    gone += [f"error {e}" for e in old["errors"] if e not in new["errors"]]
    gone += [f"ctx.{m}" for m in old["ctx"] if m not in new["ctx"]]
    return gone


def served_snapshots() -> list[Path]:
    major = hookspecs.HUB_API_VERSION.split(".")[0]
    return sorted(SNAPSHOTS.glob(f"{major}.*.json"))


def test_the_current_contract_is_recorded() -> None:
    recorded = SNAPSHOTS / f"{hookspecs.HUB_API_VERSION}.json"
    assert recorded.exists(), f"record the released contract: python {Path(__file__).name}"
    assert json.loads(recorded.read_text()) == surface(), (
        "the contract changed without a new version: bump HUB_API_VERSION (minor for additions) and record it")


@pytest.mark.parametrize("snapshot", served_snapshots(), ids=lambda p: p.stem)
def test_nothing_a_served_contract_offered_is_gone(snapshot: Path) -> None:
    assert removed_since(json.loads(snapshot.read_text()), surface()) == []


def test_a_removal_is_caught() -> None:
    old = surface()
    new = json.loads(json.dumps(old))
    del new["hooks"]["hub_fetch_payments"]
    new["hooks"]["hub_list_clients"].remove("query")
    new["types"]["Invoice"].remove("language")
    new["ctx"].remove("parallel")
    assert removed_since(old, new) == ["hook hub_fetch_payments", "argument hub_list_clients(query)",
                                       "field Invoice.language", "ctx.parallel"]


def plugin_modules() -> list[tuple[str, object]]:
    return [(ep.name, ep.load()) for ep in metadata.entry_points(group="hub.vendors")]


@pytest.mark.parametrize("slug,module", plugin_modules(), ids=lambda v: v if isinstance(v, str) else "")
def test_installed_plugins_use_only_what_their_lowest_contract_had(slug: str, module: object) -> None:
    info = module.hub_vendor()
    lowest = SNAPSHOTS / f"{info.requires_api}.json"
    assert lowest.exists(), f"{slug} requires contract {info.requires_api}, which this hub never released"
    contract = json.loads(lowest.read_text())
    implemented = {name: fn for name, fn in vars(module).items()
                   if name.startswith("hub_") and callable(fn) and hasattr(fn, f"{hookspecs.PROJECT}_impl")}
    unknown = [h for h in implemented if h not in contract["hooks"]]
    assert unknown == [], f"{slug} implements hooks newer than its requires_api {info.requires_api}"
    newer_args = [f"{h}({a})" for h, fn in implemented.items() for a in inspect.signature(fn).parameters
                  if a not in contract["hooks"][h]]
    assert newer_args == [], f"{slug} takes arguments newer than its requires_api {info.requires_api}"


def test_the_scaffold_declares_the_current_contract() -> None:
    assert scaffold.placeholders("acme")["api_version"] == hookspecs.HUB_API_VERSION


if __name__ == "__main__":
    target = SNAPSHOTS / f"{hookspecs.HUB_API_VERSION}.json"
    target.write_text(json.dumps(surface(), indent=2, sort_keys=True) + "\n")
    print(f"recorded {target}", file=sys.stderr)

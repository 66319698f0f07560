"""The standard plugin layout, and the check of a plugin's source folder against it.

``hub-plugin new`` generates this layout, every plugin under the hub's ``plugins/`` follows it, and
``hub-plugin check`` reports where a plugin departs from it::

    hub-acme/
        README.md  LICENSE  setup.cfg (or pyproject.toml)
        hub_acme/
            __init__.py     the hooks (@hookimpl), the vendor's description and the credentials schema
            client.py       the vendor's wire: requests, answers, and their mapping to and from hub.types
            wire.py         FACTS — what the client relies on about the wire, each with its source — and fact()
            sandbox.py      the emulator; its own entry point (hub.sandboxes), never imported at run time
        tests/
            conftest.py     fixtures shared by the test files (helpers are fixtures, not modules)
            test_contract.py   the contract suite (a VendorContractTests subclass)
            test_client.py     the client against the sandbox and the vendor's artifacts; check_wire_facts
            test_<topic>.py    more, named for what they test (not for an issue, not for the vendor)

Wire facts are used everywhere: the client and the sandbox both read what they rely on about the wire from
``FACTS`` through ``fact("name")``. The check holds each plugin to that where it can tell: both modules read
facts, no module-level constant repeats a fact's value, and every fact is read somewhere (a fact nobody reads is
as wrong as one spelt out twice).

:func:`check_layout` is static: it reads the files and imports none of them.
"""

from __future__ import annotations

import ast
import configparser
import re
import tomllib
from pathlib import Path

#: The modules of a plugin package and what each is for.
MODULES = {
    "__init__.py": "the hooks, the vendor's description and the credentials schema",
    "client.py": "the vendor's wire: requests, answers and their mapping to hub types",
    "wire.py": "FACTS and fact(): what the client relies on about the wire, each with its source",
    "sandbox.py": "the emulator, registered under the hub.sandboxes entry point",
}
#: The modules imported when the hub loads the plugin.
RUNTIME = ("__init__.py", "client.py", "wire.py")


def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


def _runtime_imports(tree: ast.Module) -> list[tuple[str, int]]:
    """The modules ``tree`` imports at run time (not under ``if TYPE_CHECKING:``), with their line."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(child) for child in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.append((base, node.lineno))
            found += [(f"{base}.{alias.name}" if node.module else base + alias.name, node.lineno)
                      for alias in node.names]
    return found


def _fact_reads(tree: ast.Module) -> set[str]:
    """The names read with ``fact("name")`` or ``FACTS["name"]`` in ``tree``; ``fact(f"prefix_{x}")`` gives
    ``prefix_*``."""
    names = set()
    for node in ast.walk(tree):
        arg = (node.args[0] if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
               and node.func.id == "fact" and node.args
               else node.slice if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
               and node.value.id == "FACTS" else None)
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            names.add(arg.value)
        elif isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
            names.add(f"{arg.values[0].value}*")
    return names


def _is_read(key: str, reads: set[str]) -> bool:
    return key in reads or any(r.endswith("*") and key.startswith(r[:-1]) for r in reads)


def _assigned_name(node: ast.stmt) -> str | None:
    """``NAME`` of a module-level ``NAME = …`` or ``NAME: type = …``, else None."""
    target = (node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1
              else node.target if isinstance(node, ast.AnnAssign) else None)
    return target.id if isinstance(target, ast.Name) else None


def _facts(tree: ast.Module) -> dict[str, object] | None:
    """The entries of the ``FACTS = {...}`` literal in ``wire.py`` — key: the fact's value where it is a literal
    (else ``...``) — or None when there is no such table."""
    for node in tree.body:
        if _assigned_name(node) == "FACTS" and isinstance(node.value, ast.Dict):
            facts: dict[str, object] = {}
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    facts[key.value] = _literal(value.args[0]) if isinstance(value, ast.Call) and value.args else ...
            return facts
    return None


def _literal(node: ast.expr) -> object:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return ...


def _constants(tree: ast.Module) -> list[tuple[str, int, object]]:
    """Module-level ``NAME = <literal>`` in ``tree``: (name, line, value)."""
    found = []
    for node in tree.body:
        if (name := _assigned_name(node)) and node.value is not None:
            value = _literal(node.value)
            if value is not ... and value is not None and not isinstance(value, bool):
                found.append((name, node.lineno, value))
    return found


def _has_hookimpl(tree: ast.Module) -> bool:
    return any(isinstance(node, ast.FunctionDef)
               and any("hookimpl" in ast.unparse(decorator) for decorator in node.decorator_list)
               for node in tree.body)


def _entry_points(folder: Path) -> dict[str, dict[str, str]]:
    """``{group: {name: target}}`` from setup.cfg or pyproject.toml."""
    groups: dict[str, dict[str, str]] = {}
    cfg = folder / "setup.cfg"
    if cfg.exists():
        parser = configparser.ConfigParser()
        parser.read(cfg, encoding="utf-8")
        if parser.has_section("options.entry_points"):
            for group, text in parser.items("options.entry_points"):
                for line in text.splitlines():
                    if "=" in line:
                        name, target = (part.strip() for part in line.split("=", 1))
                        groups.setdefault(group, {})[name] = target
    pyproject = folder / "pyproject.toml"
    if pyproject.exists():
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        for group, entries in data.get("project", {}).get("entry-points", {}).items():
            groups.setdefault(group, {}).update(entries)
    return groups


def check_layout(folder: str | Path) -> list[str]:
    """What departs from the standard layout in the plugin source folder ``folder``, each in words with what to
    do; an empty list when it follows it."""
    folder = Path(folder)
    problems: list[str] = []
    packages = sorted(p for p in folder.glob("hub_*") if (p / "__init__.py").is_file())
    if len(packages) != 1:
        return [f"{folder}: expected one package hub_<slug>/ with an __init__.py, found "
                f"{', '.join(p.name for p in packages) or 'none'}"]
    package = packages[0]
    slug = package.name.removeprefix("hub_")

    if (folder / "__init__.py").exists():
        problems.append(f"{folder.name}/__init__.py: the plugin's folder is not a package; remove it")
    for module in sorted(package.glob("*.py")):
        if module.name not in MODULES:
            problems.append(f"{package.name}/{module.name}: not part of the layout; move its code to "
                            "__init__.py (hooks) or client.py (the vendor's wire)")
    for sub in sorted(p for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        problems.append(f"{package.name}/{sub.name}/: no sub-packages; the layout is four modules")
    trees: dict[str, ast.Module] = {}
    for name, role in MODULES.items():
        path = package / name
        if not path.is_file():
            problems.append(f"{package.name}/{name} is missing: it holds {role}")
        elif (tree := _parse(path)) is None:
            problems.append(f"{package.name}/{name} does not parse")
        else:
            trees[name] = tree

    if "__init__.py" in trees and not _has_hookimpl(trees["__init__.py"]):
        problems.append(f"{package.name}/__init__.py defines no @hookimpl: the hooks live there")
    for name in ("client.py", "wire.py", "sandbox.py"):
        if name in trees and _has_hookimpl(trees[name]):
            problems.append(f"{package.name}/{name} defines hooks: move them to __init__.py")
    for name in RUNTIME:
        reported: set[int] = set()
        for imported, line in _runtime_imports(trees[name]) if name in trees else ():
            if line in reported:
                continue
            if imported in (".sandbox", f"{package.name}.sandbox") or imported.startswith(f"{package.name}.sandbox."):
                problems.append(f"{package.name}/{name}:{line} imports the sandbox: it is not loaded at run time "
                                "(the hub.sandboxes entry point loads it)")
                reported.add(line)
            elif imported == "hub.testing" or imported.startswith("hub.testing."):
                problems.append(f"{package.name}/{name}:{line} imports {imported}: the test kit is not loaded at "
                                "run time (WireFact is in hub.wire)")
                reported.add(line)

    reads_in = {name: _fact_reads(tree) for name, tree in trees.items()}
    if "wire.py" in trees:
        facts = _facts(trees["wire.py"])
        if facts is None:
            problems.append(f"{package.name}/wire.py has no FACTS = {{...}} table of WireFact")
        if not any(isinstance(node, ast.FunctionDef) and node.name == "fact" for node in trees["wire.py"].body):
            problems.append(f"{package.name}/wire.py defines no fact(name) (return FACTS[name].value)")
        test_trees = [tree for path in sorted((folder / "tests").glob("*.py")) if (tree := _parse(path))]
        reads = set().union(*reads_in.values(), *(_fact_reads(tree) for tree in test_trees))
        for key in facts or {}:
            if not _is_read(key, reads):
                problems.append(f"{package.name}/wire.py: FACTS[{key!r}] is read nowhere; read it with fact({key!r}) "
                                "where the client or the sandbox relies on it, or remove it")
        for key in sorted(r for r in reads if not r.endswith("*") and r not in (facts or {})):
            problems.append(f"fact({key!r}) is read but {package.name}/wire.py has no such fact")
        values = {repr(value): key for key, value in (facts or {}).items() if value is not ...}
        for name in ("__init__.py", "client.py", "sandbox.py"):
            for constant, line, value in _constants(trees[name]) if name in trees else ():
                if (key := values.get(repr(value))) is not None:
                    problems.append(f"{package.name}/{name}:{line} {constant} spells out FACTS[{key!r}] again: read "
                                    f"it with fact({key!r})")
    for name in ("client.py", "sandbox.py"):
        if name in trees and not reads_in[name]:
            problems.append(f"{package.name}/{name} reads no wire fact: it reads what it relies on with fact()")

    points = _entry_points(folder)
    if points.get("hub.vendors", {}).get(slug) != package.name:
        problems.append(f"entry point hub.vendors: expected `{slug} = {package.name}`")
    if points.get("hub.sandboxes", {}).get(slug) != f"{package.name}.sandbox":
        problems.append(f"entry point hub.sandboxes: expected `{slug} = {package.name}.sandbox`")

    tests = folder / "tests"
    for name, needle, role in (("test_contract.py", "VendorContractTests", "the contract suite"),
                               ("test_client.py", "check_wire_facts", "the client's tests and the wire facts check")):
        path = tests / name
        if not path.is_file():
            problems.append(f"tests/{name} is missing: it holds {role}")
        elif needle not in path.read_text(encoding="utf-8"):
            problems.append(f"tests/{name} does not use {needle}: it holds {role}")
    for path in sorted(tests.glob("*.py")) if tests.is_dir() else ():
        name = path.name
        if name == "__init__.py":
            problems.append("tests/__init__.py: the tests folder is not a package (pytest --import-mode=importlib)")
        elif name != "conftest.py" and not name.startswith("test_"):
            problems.append(f"tests/{name}: a helper module; offer its helpers as fixtures in tests/conftest.py")
        elif re.search(r"issue_?\d", name) or (slug in name.removesuffix(".py").split("_")):
            problems.append(f"tests/{name}: name a test file for what it tests, not for an issue or the vendor")
    return problems

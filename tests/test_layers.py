"""The import rules of the house (``.importlinter``): the hub's layers, no cycles, and plugins on the public
surface only. ``lint-imports`` checks the installed packages; plugin tests and the scaffold template are not
packages it can see, so their imports are read here against the same list of protected modules."""

from __future__ import annotations

import ast
import configparser
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def protected_modules() -> list[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    return config["importlinter:contract:public-surface"]["protected_modules"].split()


def hub_imports(source: str) -> list[tuple[int, str]]:
    """``(line, module)`` of every import of a ``hub`` module, wherever it stands (a function included)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name == "hub" or name.startswith("hub.")]


def rendered(path: Path) -> str:
    """The file's text; a scaffold template's ``{{placeholders}}`` filled with a plain name."""
    return re.sub(r"\{\{\s*\w+\s*\}\}", "acme", path.read_text())


def non_public(name: str, protected: list[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in protected)


def test_lint_imports_keeps_every_contract() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), str(ROOT / ".importlinter")], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout or "broken" not in result.stdout


def test_plugin_tests_and_the_scaffold_use_only_the_public_surface() -> None:
    protected = protected_modules()
    files = [*ROOT.glob("plugins/*/**/*.py"), *ROOT.glob("hub/scaffold_template/**/*.py.tmpl"),
             *ROOT.glob("hub/scaffold_template/**/*.py"), *ROOT.glob("tests/example_vendor/**/*.py")]
    assert len(files) > 30
    files = [path for path in files if "build" not in path.relative_to(ROOT).parts]  # setuptools' leftovers
    offences = [f"{path.relative_to(ROOT)}:{line}: {name}" for path in files
                for line, name in hub_imports(rendered(path)) if non_public(name, protected)]
    assert offences == []


def test_the_check_sees_an_import_inside_a_function() -> None:
    source = "def f():\n    from hub.http import VendorHttp\n"
    assert [name for _, name in hub_imports(source) if non_public(name, protected_modules())] == ["hub.http.VendorHttp"]


PUBLIC = {"hub.types", "hub.errors", "hub.credentials", "hub.wire", "hub.testing"}


def test_every_hub_module_is_public_or_protected() -> None:
    """A new module of the hub is protected from plugins unless it is declared public here (and documented)."""
    top = {f"hub.{p.stem}" for p in (ROOT / "hub").glob("*.py") if p.stem != "__init__"}
    top |= {f"hub.{p.parent.name}" for p in (ROOT / "hub").glob("*/__init__.py")}
    assert sorted(top - PUBLIC - set(protected_modules())) == []

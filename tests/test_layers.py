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

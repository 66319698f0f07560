"""One plugin layout (issue 30, item 3): every plugin under ``plugins/`` follows the layout ``hub-plugin new``
generates (:mod:`hub.layout`), and importing a plugin the way the hub does loads neither its sandbox nor
the test kit."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hub import scaffold
from hub.layout import check_layout

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "setup.cfg").exists())


def test_there_are_six_plugins() -> None:
    assert [p.name for p in PLUGINS] == ["directo", "merit", "scoro", "smartaccounts", "trigon", "tripletex"]


@pytest.mark.parametrize("folder", PLUGINS, ids=lambda p: p.name)
def test_the_plugin_follows_the_layout(folder: Path) -> None:
    assert check_layout(folder) == []


def test_importing_the_plugins_loads_no_sandbox_and_no_test_kit() -> None:
    code = (
        "import importlib, json, sys\n"
        f"names = {[f'hub_{p.name}' for p in PLUGINS]!r}\n"
        "for name in names: importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.endswith('.sandbox') or m.startswith('hub.testing')\n"
        "                        or m in ('pytest', 'werkzeug.serving'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(done.stdout) == []


def test_the_scaffold_follows_the_layout(tmp_path: Path) -> None:
    folder = scaffold.create_plugin("acme_books", tmp_path)
    assert check_layout(folder) == []


def test_the_check_names_each_departure(tmp_path: Path) -> None:
    folder = scaffold.create_plugin("acme", tmp_path)
    package = folder / "hub_acme"
    (package / "ops.py").write_text("X = 1\n")
    (folder / "tests" / "test_issue13.py").write_text("")
    (folder / "tests" / "kit.py").write_text("")
    (folder / "tests" / "test_acme_wire.py").write_text("")
    (folder / "tests" / "test_client.py").unlink()
    client = package / "client.py"
    client.write_text("from hub_acme import sandbox\n" + client.read_text())
    wire = package / "wire.py"
    wire.write_text(wire.read_text().replace("FACTS: dict[str, WireFact] = {",
                                             'FACTS: dict[str, WireFact] = {\n    "unused": WireFact(1, "assumed"),'))
    problems = "\n".join(check_layout(folder))
    for expected in ("hub_acme/ops.py: not part of the layout", "tests/test_issue13.py: name a test file",
                     "tests/kit.py: a helper module", "tests/test_acme_wire.py: name a test file",
                     "tests/test_client.py is missing", "hub_acme/client.py:1 imports the sandbox",
                     "FACTS['unused'] is read nowhere"):
        assert expected in problems

"""``flask hub new-plugin``: the generated plugin is lint-clean, valid, and its tests (the shared contract
suite plus one test per hook) pass; the slow test installs it into a fresh virtual environment with the hub,
runs its tests there and finds it in ``flask hub plugins --json``."""

import configparser
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub import scaffold
from hub.cli import hub_cli
from hub.hookspecs import HUB_API_VERSION

ROOT = Path(__file__).resolve().parents[1]
RUFF = ["--isolated", "--line-length", "120", "--target-version", "py311", "--select", "E,F,W,I,B,UP,ANN001,ANN201",
        "--ignore", "UP037,B904", "--config", 'lint.per-file-ignores = {"**/tests/**" = ["ANN001", "ANN201"]}',
        "--config", 'lint.isort.known-first-party = ["hub"]']


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900, **kwargs)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done


def new_plugin(*args: str) -> str:
    result = CliRunner().invoke(hub_cli, ["new-plugin", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_new_plugin_generates_a_complete_plugin(tmp_path):
    output = new_plugin("acme_books", "--dest", str(tmp_path), "--display-name", "Acme Books")
    folder = tmp_path / "acme_books"
    assert f"created {folder}" in output
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert files == ["LICENSE", "README.md", "hub_acme_books/__init__.py", "hub_acme_books/client.py",
                     "hub_acme_books/sandbox.py", "hub_acme_books/wire.py", "pyproject.toml", "setup.cfg",
                     "tests/test_client.py", "tests/test_contract.py"]
    assert not [f for f in folder.rglob("*") if f.is_file() and "{{" in f.read_text()], "a placeholder was left"
    cfg = configparser.ConfigParser()
    cfg.read(folder / "setup.cfg")
    assert cfg["metadata"]["name"] == "hub-acme-books"
    entry_points = cfg["options.entry_points"]
    assert entry_points["hub.vendors"].split() == ["acme_books", "=", "hub_acme_books"]
    assert entry_points["hub.sandboxes"].split() == ["acme_books", "=", "hub_acme_books.sandbox"]
    assert cfg["options"]["install_requires"].split()[0] == "integration-hub>=1.0,<2"
    assert cfg["metadata"]["license"] == "Apache-2.0" and "Apache License" in (folder / "LICENSE").read_text()
    init = (folder / "hub_acme_books" / "__init__.py").read_text()
    assert f'requires_api="{HUB_API_VERSION}"' in init and 'name="Acme Books"' in init
    assert '"secret": True' in init
    readme = (folder / "README.md").read_text()
    assert "hub-plugin new acme_books" in readme and "## How faithful is the sandbox" in readme


def test_generated_plugin_is_lint_clean_and_its_tests_pass(tmp_path):
    new_plugin("acme", "--dest", str(tmp_path))
    folder = tmp_path / "acme"
    run(sys.executable, "-m", "ruff", "check", *RUFF, "acme", cwd=tmp_path)
    # Not installed here, so the entry-point check is the one test left out (the slow test runs it).
    done = run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "not entry_point_is_installed",
               cwd=folder, env=dict(os.environ, PYTHONPATH=str(folder)))
    assert " passed" in done.stdout and "failed" not in done.stdout and "skipped" not in done.stdout


def test_generated_plugin_loads_like_an_installed_one(tmp_path, monkeypatch):
    from hub.testing import vendor_registry

    new_plugin("zeta", "--dest", str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path / "zeta"))
    import hub_zeta

    vendor = vendor_registry("zeta", hub_zeta).get("zeta")
    assert vendor.capabilities == ["test_connection", "client_lookup", "statistics", "invoice_export",
                                   "find_invoice"]
    assert vendor.info.requires_api == HUB_API_VERSION


@pytest.mark.parametrize("name", ["Acme", "1acme", "a", "acme-books", "acme/../x", "hub books"])
def test_bad_names_are_refused(tmp_path, name):
    result = CliRunner().invoke(hub_cli, ["new-plugin", name, "--dest", str(tmp_path)])
    assert result.exit_code != 0 and "not a valid vendor slug" in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_not_overwritten(tmp_path):
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "keep.txt").write_text("mine")
    result = CliRunner().invoke(hub_cli, ["new-plugin", "acme", "--dest", str(tmp_path)])
    assert result.exit_code != 0 and "already exists" in result.output
    assert [p.name for p in (tmp_path / "acme").iterdir()] == ["keep.txt"]


def test_template_ships_as_package_data():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    patterns = [p.strip() for p in cfg["options.package_data"]["hub"].split(",")]
    shipped = {p for pattern in patterns for p in (ROOT / "hub").glob(pattern)}
    assert set(scaffold.TEMPLATE.rglob("*.tmpl")) <= shipped


@pytest.mark.slow
@pytest.mark.packaging
def test_generated_plugin_installs_from_wheels_alone_and_passes_in_a_fresh_venv(checkout_builds, tmp_path):
    """As an author outside this repository: the hub's built wheel (and its dependencies' wheels) in a local
    folder, nothing else — `pip install --no-index --find-links`; the scaffold made by the `hub-plugin`
    console script (no instance folder appears), its tests pass, `flask hub plugins` lists it and
    `hub-plugin check` runs its contract suite (every check passes) and names the placeholders left to replace."""
    dist, wheels = tmp_path / "dist", tmp_path / "wheels"
    run(sys.executable, "-m", "build", "--wheel", "--sdist", "--outdir", dist, ROOT)
    hub_wheel = next(dist.glob("integration_hub-*.whl"))
    run(sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--wheel-dir", wheels,
        hub_wheel, "pytest>=8")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index", "--find-links", wheels]
    run(*pip, "integration-hub")
    env = dict(os.environ, FLASK_APP="hub.app:create_app", HUB_INSTANCE_PATH=str(tmp_path / "instance"))
    for name in ("HUB_LOAD_PLUGINS", "HUB_STRICT_PLUGINS", "REDIS_URL", "DATABASE_URL", "PYTHONPATH"):
        env.pop(name, None)
    author = tmp_path / "author"
    author.mkdir()
    made = run(venv / "bin" / "hub-plugin", "new", "acme", "--dest", author, env=env, cwd=author)
    assert "pip install -e" in made.stdout and "[test]" in made.stdout
    assert sorted(p.name for p in author.iterdir()) == ["acme"], "no instance/ folder or key files appear"
    plugin = author / "acme"
    run(sys.executable, "-m", "build", "--wheel", "--outdir", wheels, plugin)
    run(*pip, "hub-acme[test]", env=env)
    done = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=plugin, env=env)
    assert " passed" in done.stdout and "failed" not in done.stdout
    listed = run(venv / "bin" / "flask", "hub", "plugins", "--json", env=dict(env, HUB_STRICT_PLUGINS="1"),
                 cwd=tmp_path)
    rows = {row["slug"]: row for row in json.loads(listed.stdout)}
    assert list(rows) == ["acme"]
    assert rows["acme"]["error"] is None and rows["acme"]["distribution"] == "hub-acme"
    assert rows["acme"]["version"] == "0.1.0"
    assert rows["acme"]["capabilities"] == ["test_connection", "client_lookup", "statistics", "invoice_export",
                                            "find_invoice"]
    checked = subprocess.run([venv / "bin" / "hub-plugin", "check", "hub-acme", "--path", plugin],
                             capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert "loads and validates" in checked.stdout and "contract: test_export_idempotency" in checked.stdout
    assert "passed" in checked.stdout and "FAILED" not in checked.stdout, checked.stdout
    # an untouched scaffold is not ready: each placeholder is named
    assert checked.returncode == 1 and "VendorInfo.docs_url" in checked.stdout, checked.stdout
    assert "README section 'Credentials' still has the scaffold's placeholder" in checked.stdout

"""A fresh virtual environment: `pip install .`, then plugins one by one; `flask hub plugins --json` lists
exactly what is installed, and a plugin whose import raises is listed with its error."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def make_broken_plugin(folder: Path) -> Path:
    (folder / "hub_broken").mkdir(parents=True)
    (folder / "hub_broken" / "__init__.py").write_text('raise RuntimeError("this plugin is broken on purpose")\n')
    (folder / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools>=68"]\n'
                                           'build-backend = "setuptools.build_meta"\n')
    (folder / "setup.cfg").write_text(textwrap.dedent("""\
        [metadata]
        name = hub-broken
        version = 0.0.1
        [options]
        packages = hub_broken
        [options.entry_points]
        hub.vendors =
            broken = hub_broken
        """))
    return folder


@pytest.mark.slow
@pytest.mark.packaging
def test_fresh_install_lists_exactly_what_is_installed(checkout_builds, tmp_path):
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    run(*pip, ROOT)
    env = dict(os.environ, FLASK_APP="hub.app:create_app", HUB_INSTANCE_PATH=str(tmp_path / "instance"))
    env.pop("HUB_LOAD_PLUGINS", None)
    env.pop("HUB_STRICT_PLUGINS", None)
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)

    def listed() -> dict:
        done = run(venv / "bin" / "flask", "hub", "plugins", "--json", env=env, cwd=tmp_path)
        return {row["slug"]: row for row in json.loads(done.stdout)}

    assert listed() == {}
    run(*pip, "--no-deps", ROOT / "tests" / "example_vendor")
    assert list(listed()) == ["example", "oauthexample"]  # the example distribution holds both (issue 30)
    run(*pip, "--no-deps", make_broken_plugin(tmp_path / "broken"))
    rows = listed()
    assert sorted(rows) == ["broken", "example", "oauthexample"]
    assert rows["example"]["error"] is None and rows["example"]["version"] == "0.1.0"
    assert "this plugin is broken on purpose" in rows["broken"]["error"]
    strict = subprocess.run([venv / "bin" / "flask", "hub", "plugins"], env=dict(env, HUB_STRICT_PLUGINS="1"),
                            capture_output=True, text=True, cwd=tmp_path)
    assert strict.returncode != 0 and "broken" in strict.stderr

"""The hub and every in-repo plugin build as a wheel and an sdist that `twine check` accepts, under the
Apache-2.0 licence, with project URLs, classifiers and their README as the long description; plugins depend
on `integration-hub>=1.0,<2`."""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECTS = [ROOT, *sorted(p.parent for p in (ROOT / "plugins").glob("*/setup.cfg"))]


def run(*args: object) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.message_from_bytes(archive.read(name))


@pytest.mark.slow
@pytest.mark.packaging
def test_every_package_builds_and_passes_twine_check(checkout_builds, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    for project in PROJECTS:
        leftover = not (project / "build").exists()  # setuptools writes build/ into the project: remove ours
        try:
            run(sys.executable, "-m", "build", "--no-isolation", "--wheel", "--sdist", "--outdir", dist, project)
        finally:
            if leftover:
                shutil.rmtree(project / "build", ignore_errors=True)
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    assert len(wheels) == len(sdists) == len(PROJECTS)
    run(sys.executable, "-m", "twine", "check", "--strict", *wheels, *sdists)
    for wheel in wheels:
        meta = wheel_metadata(wheel)
        name = meta["Name"]
        assert (meta.get("License-Expression") or meta.get("License")) == "Apache-2.0", name
        assert meta.get_all("Project-URL") and meta.get_all("Classifier"), name
        assert meta.get_payload().strip() and meta["Description-Content-Type"] == "text/markdown", name
        with zipfile.ZipFile(wheel) as archive:
            assert any(n.endswith("LICENSE") for n in archive.namelist()), f"{name} ships no LICENSE"
        if name != "integration-hub":
            assert "integration-hub<2,>=1.0" in (meta.get_all("Requires-Dist") or []), name

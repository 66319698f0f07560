"""``hub-plugin check`` tells the truth (issue 30, item 4): it runs the plugin's own ``tests/test_contract.py``,
reports every check (passed, failed with pytest's own message, skipped with the reason), fails on the scaffold's
untouched placeholders naming each, and passes a finished plugin with no skipped check.

The plugin is a fresh scaffold, "installed" by a ``.dist-info`` folder on the path (no pip: a fast test; the slow
test in test_scaffold.py installs one from wheels)."""

import os
import re
import subprocess
import sys

import pytest

from hub import author, scaffold


def installed_scaffold(tmp_path, monkeypatch, slug: str):
    folder = scaffold.create_plugin(slug, tmp_path / "src")
    values = scaffold.placeholders(slug)
    site = tmp_path / "site"
    info = site / f"{values['package']}-0.1.0.dist-info"
    info.mkdir(parents=True)

    def write_metadata() -> None:
        (info / "METADATA").write_text(
            "Metadata-Version: 2.1\n"
            f"Name: {values['distribution']}\nVersion: 0.1.0\nLicense: Apache-2.0\n"
            "Requires-Dist: integration-hub<2,>=1.0\nProject-URL: Source, https://git.test/hub-plugin\n"
            "Description-Content-Type: text/markdown\n\n" + (folder / "README.md").read_text(), encoding="utf-8")

    write_metadata()
    (info / "entry_points.txt").write_text(f"[hub.vendors]\n{slug} = {values['package']}\n\n"
                                           f"[hub.sandboxes]\n{slug} = {values['package']}.sandbox\n")
    path = os.pathsep.join([str(folder), str(site), os.environ.get("PYTHONPATH", "")])
    monkeypatch.setenv("PYTHONPATH", path)  # the suite's own process finds the plugin and its entry points
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(folder))
    return folder, values, write_metadata


def finish(folder, package: str) -> None:
    """What an author does to the scaffold: the vendor's own words, address, countries and README."""
    init = folder / package / "__init__.py"
    text = init.read_text()
    text = re.sub(r'summary="[^"]*"', 'summary="Acme\'s books: clients, statistics and invoices."', text)
    text = re.sub(r'docs_url="[^"]*"', 'docs_url="https://developer.acme-books.no/api"', text)
    text = re.sub(r'regions=\("EE",\)', 'regions=("NO", "SE")', text)
    text = re.sub(r"setup_steps=\(.*?\),\n(\s+)statistic_fields", 'setup_steps=("Open Acme → Integrations → API '
                  'and create a key.",),\n\\1statistic_fields', text, flags=re.DOTALL)
    init.write_text(text)
    readme = (folder / "README.md").read_text()
    readme = readme.split("## Credentials")[0] + (
        "## Credentials\n\nIn Acme open Integrations → API and create a key; the company code is in the address.\n\n"
        "## What syncs\n\nClients and monthly document counts to the hub; invoices from the hub to Acme.\n\n"
        "## How faithful is the sandbox\n\nPaths and errors checked against Acme's OpenAPI document of 2026-11.\n")
    (folder / "README.md").write_text(readme)


def test_a_fresh_scaffold_fails_naming_its_placeholders_and_every_check_is_reported(tmp_path, monkeypatch):
    folder, values, _ = installed_scaffold(tmp_path, monkeypatch, "acmeone")
    report = author.check(values["distribution"], path=folder)
    problems = "\n".join(report.problems)
    for placeholder in ("VendorInfo.summary", "VendorInfo.setup_steps", "VendorInfo.docs_url", "VendorInfo.regions",
                        "README section 'Credentials'", "README section 'What syncs'",
                        "README section 'How faithful is the sandbox'"):
        assert placeholder in problems, placeholder
    assert "made-up address (.example)" in problems
    passed = [line for line in report.ok if line.startswith("contract: ")]
    assert "contract: test_export_idempotency" in passed, "the scaffold's own fixtures: its demo client and invoice"
    assert "contract: test_statistics_shape" in passed and len(passed) >= 10
    assert not [a for a in report.advice if "SKIPPED" in a]
    assert "problem(s) to fix" in report.render()


def test_a_finished_plugin_passes_with_no_skipped_check(tmp_path, monkeypatch):
    folder, values, write_metadata = installed_scaffold(tmp_path, monkeypatch, "acmetwo")
    finish(folder, values["package"])
    write_metadata()
    report = author.check(values["distribution"], path=folder)
    assert report.problems == [], report.render()
    assert not [a for a in report.advice if "SKIPPED" in a]
    assert "follows the standard plugin layout (hooks, client, wire facts, sandbox; tests)" in report.ok
    assert "ready to publish" in report.render().splitlines()[-1]


def test_a_departure_from_the_layout_is_advice_naming_it(tmp_path, monkeypatch):
    folder, values, write_metadata = installed_scaffold(tmp_path, monkeypatch, "acmefive")
    finish(folder, values["package"])
    write_metadata()
    (folder / values["package"] / "helpers.py").write_text("X = 1\n")
    report = author.check(values["distribution"], path=folder, run_tests=False)
    assert report.problems == [], report.render()
    assert [a for a in report.advice if a.startswith("layout: ")] == [
        "layout: hub_acmefive/helpers.py: not part of the layout; move its code to __init__.py (hooks) or client.py "
        "(the vendor's wire)"]


def test_a_failing_suite_fails_the_check_with_the_same_message(tmp_path, monkeypatch):
    folder, values, write_metadata = installed_scaffold(tmp_path, monkeypatch, "acmethree")
    finish(folder, values["package"])
    write_metadata()
    sandbox = folder / values["package"] / "sandbox.py"
    sandbox.write_text(sandbox.read_text().replace('return jsonify(error="invalid API key"), 401',
                                                   'return jsonify(error="invalid API key"), 200'))
    own = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
                          "tests/test_contract.py"], capture_output=True, text=True, cwd=folder,
                         env={**os.environ, "COLUMNS": "1000"})
    assert own.returncode == 1
    message = re.search(r"^FAILED \S+::(test_\w+) - (.*)$", own.stdout, re.MULTILINE)
    report = author.check(values["distribution"], path=folder)
    failed = [p for p in report.problems if p.startswith(f"contract: {message[1]} FAILED")]
    assert failed and message[2] in failed[0], report.render()
    assert f"pytest tests/test_contract.py -k {message[1]}" in failed[0], "says how to see it whole"


def test_without_the_plugins_tests_it_says_where_it_looked(tmp_path, monkeypatch):
    folder, values, _ = installed_scaffold(tmp_path, monkeypatch, "acmefour")
    (folder / "tests" / "test_contract.py").unlink()
    monkeypatch.chdir(tmp_path)
    report = author.check(values["distribution"])
    assert any("no tests/test_contract.py found" in p and "--path" in p for p in report.problems)


@pytest.mark.parametrize("slug", ["acmefive"])
def test_the_scaffolds_defaults_are_read_from_the_template(slug):
    info = author.scaffold_defaults(slug)
    assert info.slug == slug and info.docs_url == f"https://developer.{slug}.example/api"

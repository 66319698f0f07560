"""Tools for plugin authors that need no running hub: ``hub-plugin new NAME`` (a working plugin from the
scaffold) and ``hub-plugin check DIST`` (a quality report on an installed plugin distribution).

Both are also ``flask hub new-plugin`` / ``flask hub check-plugin``; the ``hub-plugin`` console script runs
them without building the app (no ``instance/`` folder, no keys, no embedded Redis in the current directory).

``check`` is a light version of Home Assistant's integration quality scale: it loads and validates the plugin
exactly as the hub does, reads its package metadata and README, checks what its ``hub_vendor()`` and
credentials schema declare, fails on what the scaffold wrote and nobody replaced (naming each placeholder), advises
where the plugin's folder departs from the standard layout (:mod:`hub.layout`), and
runs the plugin's **own** ``tests/test_contract.py`` as its author does (its fixtures, its demo client),
reporting every check: passed, failed with pytest's own message, or skipped with the reason (advice: a check
that did not run proves nothing). Every finding says what to fix; the exit status is non-zero when something
must be fixed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import click

from hub import credentials as creds
from hub import layout, scaffold
from hub.plugins import ENTRY_POINT_GROUP, VendorRegistry

#: README sections a published plugin should have (a heading containing any of the words).
README_SECTIONS = {
    "credentials": ("credential", "connect", "setup", "set up"),
    "what syncs": ("sync", "what it does", "capabilit"),
    "how faithful the sandbox is": ("faithful", "sandbox"),
}


@dataclass
class Report:
    """The findings of ``check``: ``ok`` lines, ``problems`` (must fix) and ``advice`` (should fix)."""

    ok: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"  ok    {line}" for line in self.ok]
        lines += [f"  FIX   {line}" for line in self.problems]
        lines += [f"  ADVICE {line}" for line in self.advice]
        verdict = "ready to publish" if not self.problems else f"{len(self.problems)} problem(s) to fix"
        return "\n".join([*lines, "", verdict + (f", {len(self.advice)} piece(s) of advice" if self.advice else "")])


def _entry_points(dist: metadata.Distribution, group: str) -> list[metadata.EntryPoint]:
    return [ep for ep in dist.entry_points if ep.group == group]


def check_metadata(dist: metadata.Distribution, report: Report) -> None:
    meta = dist.metadata
    licence = meta.get("License-Expression") or meta.get("License")
    if licence:
        report.ok.append(f"licence: {licence}")
    else:
        report.problems.append("no licence in the package metadata: set `license = <SPDX id>` (any licence is "
                               "fine for a plugin) and `license_files = LICENSE` in setup.cfg")
    hub_requirement = next((r for r in (meta.get_all("Requires-Dist") or [])
                            if re.match(r"integration-hub\b", r, re.IGNORECASE)), None)
    if hub_requirement is None:
        report.problems.append("does not depend on integration-hub: add `integration-hub>=1.0,<2` to install_requires")
    elif "<" not in hub_requirement:
        report.problems.append(f"`{hub_requirement}` has no upper bound: a 2.0 hub may remove what you use; "
                               "require `integration-hub>=1.0,<2`")
    else:
        report.ok.append(f"requires {hub_requirement}")
    if not meta.get_all("Project-URL"):
        report.advice.append("no project URLs: add `project_urls` (source, issues) so users can reach you")


def check_readme(dist: metadata.Distribution, report: Report) -> None:
    readme = dist.metadata.get_payload() or dist.metadata.get("Description") or ""  # type: ignore[attr-defined]
    if not readme.strip():
        report.problems.append("no README in the package: set `long_description = file: README.md`")
        return
    headings = [h.lower() for h in re.findall(r"^#{1,4}\s+(.+)$", readme, re.MULTILINE)]
    for section, words in README_SECTIONS.items():
        if any(word in heading for heading in headings for word in words):
            report.ok.append(f"README has a section on {section}")
        else:
            report.problems.append(f"README has no section on {section}: add a heading such as "
                                   f"'## {section.capitalize()}'")


def check_declarations(registry: VendorRegistry, slug: str, report: Report) -> None:
    vendor = registry.vendors[slug]
    info = vendor.info
    for attribute, what in (("setup_steps", "the steps an admin follows in the vendor to get credentials"),
                            ("regions", "the ISO country codes the vendor serves"),
                            ("docs_url", "the vendor's API documentation")):
        if getattr(info, attribute):
            report.ok.append(f"VendorInfo.{attribute} is set")
        else:
            report.problems.append(f"VendorInfo.{attribute} is empty: give {what}")
    for stat in info.statistic_fields:
        if not stat.description:
            report.advice.append(f"statistic field {stat.key!r} has no description: say what is counted")
    for name, schema_field in vendor.schema().fields.items():
        missing = [key for key in ("label", "help") if not schema_field.metadata.get(key)]
        if missing:
            report.problems.append(f"credentials field {name!r} has no {' or '.join(missing)} in its metadata: "
                                   "the admin form shows them")
    if not creds.secret_fields(vendor.schema) and info.oauth is None:
        report.advice.append("no credentials field is marked secret: mark API keys and tokens "
                             "`metadata={'secret': True}` so they are encrypted and never shown back")


#: One test's line in ``pytest -v`` output: its node id, outcome and (for a skip) the reason.
TEST_LINE = re.compile(r"^(?P<id>\S+::\S+) (?P<outcome>PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)"
                       r"(?: \((?P<reason>.*)\))?", re.MULTILINE)
#: A failure's message in pytest's short summary (``-rA``): ``FAILED <id> - <message>``.
FAILURE_LINE = re.compile(r"^(?:FAILED|ERROR) (?P<id>\S+::\S+) - (?P<message>.*)$", re.MULTILINE)
CONTRACT_TESTS = Path("tests") / "test_contract.py"
#: The suite's skip reasons for a capability the vendor does not have (not a check left undone).
NOT_APPLICABLE = re.compile(r"^\S+ (?:has no statistics|does not export invoices)")


def plugin_folder(plugin: object, given: str | Path | None = None) -> Path | None:
    """The plugin's source folder (the one holding ``tests/test_contract.py``): ``given``, else the folder above an
    editable install's package, else the current directory."""
    candidates = [Path(given)] if given else []
    module_file = getattr(plugin, "__file__", None)
    if module_file:
        candidates.append(Path(module_file).resolve().parent.parent)
    candidates.append(Path.cwd())
    return next((folder for folder in candidates if (folder / CONTRACT_TESTS).is_file()), None)


def run_contract_suite(slug: str, folder: Path | None, report: Report, *, timeout: float = 600) -> None:
    """Run the plugin's own ``tests/test_contract.py`` (its fixtures, its demo client) as its author does, and report
    every check: passed, failed with pytest's own message, or skipped with the reason."""
    if folder is None:
        report.problems.append(f"{slug}: no {CONTRACT_TESTS} found (looked next to the installed package and in the "
                               "current directory): run `hub-plugin check DIST --path <the plugin's folder>`, or add "
                               "the contract suite there (`hub-plugin new` writes one)")
        return
    command = [sys.executable, "-m", "pytest", "-v", "-rA", "-p", "no:cacheprovider", str(CONTRACT_TESTS)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=folder,
                              env={**os.environ, "COLUMNS": "1000"})  # wide: pytest cuts skip reasons to fit
    except subprocess.TimeoutExpired:
        report.problems.append(f"{slug}: the contract suite did not finish within {timeout:g} s (in {folder})")
        return
    messages = {m["id"]: m["message"] for m in FAILURE_LINE.finditer(done.stdout)}
    seen = 0
    for line in TEST_LINE.finditer(done.stdout):
        seen += 1
        name, outcome = line["id"].split("::")[-1], line["outcome"]
        if outcome in ("PASSED", "XFAIL"):
            report.ok.append(f"contract: {name}")
        elif outcome == "SKIPPED" and NOT_APPLICABLE.search(line["reason"] or ""):
            report.ok.append(f"contract: {name} — not applicable ({line['reason']})")
        elif outcome == "SKIPPED":
            report.advice.append(f"contract: {name} SKIPPED ({line['reason'] or 'no reason given'}): unless the "
                                 "vendor cannot do it, give the suite what it needs (see the reason) so it runs")
        else:
            report.problems.append(f"contract: {name} {outcome}: {messages.get(line['id'], '(see pytest output)')} — "
                                   f"to see it whole: cd {folder} && pytest {CONTRACT_TESTS} -k {name}")
    summary = (done.stdout.strip().splitlines() or ["(no output)"])[-1].strip("= ")
    if not seen:
        report.problems.append(f"{slug}: the contract suite ran no check ({summary}): "
                               f"cd {folder} && pytest {CONTRACT_TESTS} shows why\n{done.stdout[-2000:]}")
    elif done.returncode == 0:
        report.ok.append(f"contract suite ({folder / CONTRACT_TESTS}): {summary}")


def check_plugin_layout(folder: Path, report: Report) -> None:
    """Where the plugin departs from the standard layout (:mod:`hub.layout`): advice, not a failure — the hub loads
    any layout; the standard one is what other authors and the hub's own plugins read."""
    departures = layout.check_layout(folder)
    if departures:
        report.advice += [f"layout: {departure}" for departure in departures]
    else:
        report.ok.append("follows the standard plugin layout (hooks, client, wire facts, sandbox; tests)")


def scaffold_defaults(slug: str) -> Any:
    """``hub_vendor()`` of an untouched scaffold for ``slug`` (what ``hub-plugin new`` wrote), or None."""
    try:
        values = scaffold.placeholders(slug)
    except scaffold.ScaffoldError:
        return None
    # The scaffold as `hub-plugin new` writes it, loaded under a name of its own (not the installed plugin's).
    name = f"_scaffold_hub_{slug}"
    with tempfile.TemporaryDirectory() as folder:
        package = scaffold.create_plugin(slug, folder) / values["package"]
        spec = importlib.util.spec_from_file_location(name, package / "__init__.py",
                                                      submodule_search_locations=[str(package)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
            return module.hub_vendor()
        finally:
            for loaded in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
                del sys.modules[loaded]


def check_placeholders(dist: metadata.Distribution, registry: VendorRegistry, slug: str, report: Report) -> None:
    """Fail on what ``hub-plugin new`` wrote and the author has not replaced, naming each placeholder."""
    template = scaffold_defaults(slug)
    if template is not None:
        info = registry.vendors[slug].info
        for attribute in ("summary", "setup_steps", "gotchas", "docs_url"):
            value = getattr(info, attribute)
            if value and value == getattr(template, attribute):
                report.problems.append(f"VendorInfo.{attribute} is still the scaffold's placeholder ({value!r}): "
                                       "write the vendor's own")
        if info.regions == template.regions and info.setup_steps == template.setup_steps:
            report.problems.append(f"VendorInfo.regions is still the scaffold's default {info.regions!r}: give the "
                                   "countries the vendor serves")
    if re.search(r"https?://[^/\s\"']+\.example(?:[/\"'\s]|$)", registry.vendors[slug].info.docs_url + " "):
        report.problems.append(f"VendorInfo.docs_url {registry.vendors[slug].info.docs_url!r} is a made-up "
                               "address (.example): link the vendor's API documentation")
    readme = dist.metadata.get_payload() or ""  # type: ignore[attr-defined]
    try:
        values = scaffold.placeholders(slug)
    except scaffold.ScaffoldError:
        return
    rendered = scaffold.render((scaffold.TEMPLATE / "README.md.tmpl").read_text(encoding="utf-8"), values)
    section = None
    for block in re.split(r"\n\s*\n", rendered):
        heading = re.match(r"^#{2,4}\s+(.+)$", block.strip())
        if heading:
            section = heading.group(1)
            continue
        if section in ("Credentials", "What syncs", "How faithful is the sandbox") and block.strip() in readme:
            report.problems.append(f"README section '{section}' still has the scaffold's placeholder text "
                                   f"({block.strip().splitlines()[0][:70]}…): write it for the vendor")


def check(distribution: str, *, run_tests: bool = True, path: str | Path | None = None) -> Report:
    """The quality report for the installed distribution ``distribution`` (e.g. ``hub-acme``); ``path``: the
    plugin's source folder (found by itself for an editable install or when run in that folder)."""
    report = Report()
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        report.problems.append(f"{distribution} is not installed here: `pip install -e 'DIR[test]'` first")
        return report
    vendors = _entry_points(dist, ENTRY_POINT_GROUP)
    if not vendors:
        report.problems.append(f"{distribution} registers no `{ENTRY_POINT_GROUP}` entry point: add "
                               f"`[options.entry_points] {ENTRY_POINT_GROUP} = <slug> = <package>`")
        return report
    check_metadata(dist, report)
    check_readme(dist, report)
    for ep in vendors:
        registry = VendorRegistry()
        try:
            plugin = ep.load()
            registry.register(ep.name, plugin, strict=False, distribution=dist.metadata["Name"],
                              version=dist.version)
        except Exception as exc:  # an import error is itself the finding
            report.problems.append(f"{ep.name}: the plugin does not import: {type(exc).__name__}: {exc}")
            continue
        failure = registry.failures.get(ep.name)
        if failure is not None:
            report.problems.append(f"{ep.name}: the hub refuses to load it: {failure.error}")
            continue
        report.ok.append(f"{ep.name}: loads and validates (capabilities: "
                         f"{', '.join(sorted(registry.vendors[ep.name].capabilities))})")
        check_declarations(registry, ep.name, report)
        check_placeholders(dist, registry, ep.name, report)
        folder = plugin_folder(plugin, path)
        if folder is not None:
            check_plugin_layout(folder, report)
        if run_tests:
            run_contract_suite(ep.name, folder, report)
    return report


@click.group("hub-plugin")
def main() -> None:
    """Tools for Integration Hub plugin authors (no running hub needed)."""


@main.command("new")
@click.argument("name")
@click.option("--dest", default="plugins", show_default=True, type=click.Path(file_okay=False),
              help="Folder to create the plugin in (as DEST/NAME).")
@click.option("--display-name", default=None, help="The vendor's name as admins see it (default: from NAME).")
def new_command(name: str, dest: str, display_name: str | None) -> None:
    """Generate a working vendor plugin NAME (hooks, sandbox, contract tests, README) in DEST/NAME."""
    try:
        folder = scaffold.create_plugin(name, dest, name=display_name)
    except scaffold.ScaffoldError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"created {folder}\n\nnext:\n  pip install -e '{folder}[test]'\n  pytest {folder}\n"
               f"  hub-plugin check {scaffold.placeholders(name)['distribution']}\n  flask hub plugins")


@main.command("check")
@click.argument("distribution")
@click.option("--no-tests", is_flag=True, help="Skip running the plugin's contract suite.")
@click.option("--path", default=None, type=click.Path(file_okay=False, exists=True),
              help="The plugin's source folder, holding tests/test_contract.py (default: found next to an editable "
                   "install, or the current directory).")
def check_command(distribution: str, no_tests: bool, path: str | None) -> None:
    """A quality report on the installed plugin DISTRIBUTION (e.g. hub-acme): what to fix before publishing."""
    report = check(distribution, run_tests=not no_tests, path=path)
    click.echo(f"{distribution}:\n{report.render()}")
    if report.problems:
        raise SystemExit(1)

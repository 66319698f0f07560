"""Tools for plugin authors that need no running hub: ``hub-plugin new NAME`` (a working plugin from the
scaffold) and ``hub-plugin check DIST`` (a quality report on an installed plugin distribution).

Both are also ``flask hub new-plugin`` / ``flask hub check-plugin``; the ``hub-plugin`` console script runs
them without building the app (no ``instance/`` folder, no keys, no embedded Redis in the current directory).

``check`` is a light version of Home Assistant's integration quality scale: it loads and validates the plugin
exactly as the hub does, reads its package metadata and README, checks what its ``hub_vendor()`` and
credentials schema declare, and runs the shared contract suite against its sandbox. Every finding says what
to fix; the exit status is non-zero when something must be fixed.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import click

from hub import credentials as creds
from hub import scaffold
from hub.plugins import ENTRY_POINT_GROUP, VendorRegistry

SANDBOX_GROUP = "hub.sandboxes"
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
    if not creds.secret_fields(vendor.schema):
        report.advice.append("no credentials field is marked secret: mark API keys and tokens "
                             "`metadata={'secret': True}` so they are encrypted and never shown back")


def contract_test_source(slug: str, plugin_module: str, sandbox_module: str) -> str:
    """A test module running the shared contract suite against the sandbox with its demo credentials."""
    return textwrap.dedent(f'''\
        import importlib

        import httpx
        import marshmallow

        from hub import credentials as creds
        from hub.testing import VendorContractTests

        plugin = importlib.import_module({plugin_module!r})
        sandbox = importlib.import_module({sandbox_module!r})
        schema = plugin.hub_credentials_schema() if hasattr(plugin, "hub_credentials_schema") else None
        secrets = creds.secret_fields(schema) if isinstance(schema, type) and issubclass(schema, marshmallow.Schema) \\
            else set()


        class TestContract(VendorContractTests):
            slug = {slug!r}
            plugin = plugin
            good_credentials = dict(sandbox.DEMO_CREDENTIALS)
            bad_credentials = {{k: ("wrong" + str(v)) if k in secrets else v
                               for k, v in sandbox.DEMO_CREDENTIALS.items()}}
            settings = dict(getattr(sandbox, "DEMO_SETTINGS", None) or {{}})

            def make_transport(self):
                return httpx.WSGITransport(app=sandbox.create_app())
        ''')


def run_contract_suite(slug: str, plugin_ep: metadata.EntryPoint, sandbox_ep: metadata.EntryPoint | None,
                       report: Report, *, timeout: float = 300) -> None:
    if sandbox_ep is None:
        report.problems.append(f"no sandbox: register `{SANDBOX_GROUP} = {slug} = <package>.sandbox` (a WSGI "
                               "emulator of the vendor's API with DEMO_CREDENTIALS) so the contract suite can run")
        return
    sandbox = sandbox_ep.load()
    if not isinstance(getattr(sandbox, "DEMO_CREDENTIALS", None), dict) or not hasattr(sandbox, "create_app"):
        report.problems.append(f"the sandbox module {sandbox_ep.value} needs `create_app()` and a "
                               "`DEMO_CREDENTIALS` dict the sandbox accepts")
        return
    with tempfile.TemporaryDirectory(prefix="hub-check-") as folder:
        test_file = Path(folder) / f"test_contract_{slug}.py"
        test_file.write_text(contract_test_source(slug, plugin_ep.value.split(":")[0], sandbox_ep.value))
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
                              capture_output=True, text=True, timeout=timeout, cwd=folder)
    summary = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    if done.returncode == 0:
        report.ok.append(f"contract suite against the sandbox: {summary}")
    else:
        failed = re.findall(r"^FAILED \S+::(\S+)", done.stdout, re.MULTILINE)
        report.problems.append(f"contract suite against the sandbox: {summary}"
                               + (f" — failing: {', '.join(failed)}" if failed else "")
                               + "; run it in your tests with VendorContractTests to see the details")


def check(distribution: str, *, run_tests: bool = True) -> Report:
    """The quality report for the installed distribution ``distribution`` (e.g. ``hub-acme``)."""
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
    sandboxes = {ep.name: ep for ep in _entry_points(dist, SANDBOX_GROUP)}
    for ep in vendors:
        registry = VendorRegistry()
        try:
            registry.register(ep.name, ep.load(), strict=False, distribution=dist.metadata["Name"],
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
        if run_tests:
            run_contract_suite(ep.name, ep, sandboxes.get(ep.name), report)
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
@click.option("--no-tests", is_flag=True, help="Skip running the contract suite against the sandbox.")
def check_command(distribution: str, no_tests: bool) -> None:
    """A quality report on the installed plugin DISTRIBUTION (e.g. hub-acme): what to fix before publishing."""
    report = check(distribution, run_tests=not no_tests)
    click.echo(f"{distribution}:\n{report.render()}")
    if report.problems:
        raise SystemExit(1)

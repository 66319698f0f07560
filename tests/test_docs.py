"""The plugin docs are held to the contract: every hook in ``hub/hookspecs.py`` has a section in
``docs/plugins/hooks.md`` headed by its exact signature, and some test calls it. The checks are shown to
fail for a temporary hookspec that has neither."""

import inspect
import re
import types
from pathlib import Path

import pytest

import hub.testing
from hub import hookspecs
from hub.plugins import ENTRY_POINT_GROUP

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "plugins"
REFERENCE = DOCS / "hooks.md"
PAGES = ["README.md", "author-guide.md", "hooks.md", "testing.md", "troubleshooting.md", "compatibility.md"]


def _annotation(value: object) -> str:
    return value.strip("\"'") if isinstance(value, str) else getattr(value, "__name__", str(value))


def hook_signature(spec: types.FunctionType) -> str:
    """``hub_list_clients(ctx: Context, credentials: dict, query: str) -> list[VendorClient]``."""
    signature = inspect.signature(spec)
    params = ", ".join(f"{p.name}: {_annotation(p.annotation)}" if p.annotation is not p.empty else p.name
                       for p in signature.parameters.values())
    return f"{spec.__name__}({params}) -> {_annotation(signature.return_annotation)}"


def hookspecs_of(module: object) -> dict[str, types.FunctionType]:
    """The hooks a hookspec module declares (functions carrying pluggy's ``hub_spec`` marker)."""
    marker = f"{hookspecs.PROJECT}_spec"
    return {name: fn for name, fn in vars(module).items() if inspect.isfunction(fn) and hasattr(fn, marker)}


def reference_headings(markdown: str) -> set[str]:
    """The signatures heading the reference's sections: ``## `hub_x(...) -> T` ``."""
    return {m.group(1) for m in re.finditer(r"^## `(.+)`\s*$", markdown, re.MULTILINE)}


def undocumented(module: object, markdown: str) -> list[str]:
    headings = reference_headings(markdown)
    return sorted(hook_signature(fn) for fn in hookspecs_of(module).values() if hook_signature(fn) not in headings)


def test_sources() -> dict[str, str]:
    """Every test module of the hub and of the in-repo plugins, and the shared contract suite."""
    files = [p for p in (ROOT / "tests").rglob("test_*.py") if p.name != Path(__file__).name]
    files += list((ROOT / "plugins").glob("*/tests/**/*.py"))
    files.append(Path(hub.testing.__file__).with_name("contract.py"))
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in files}


test_sources.__test__ = False  # a helper, not a test


def untested(module: object, sources: dict[str, str]) -> list[str]:
    """Hooks that no test calls, by name (``registry.call(slug, "hub_x", ...)``) or as ``x.hub_x(...)``."""
    text = "\n".join(sources.values())
    return sorted(name for name in hookspecs_of(module)
                  if not re.search(rf"""(["']){name}\1|\.{name}\(""", text))


# -- the checks -------------------------------------------------------------------------------------------
def test_every_hook_has_a_reference_section_with_its_exact_signature():
    assert len(hookspecs_of(hookspecs)) == len(hookspecs.CAPABILITIES) + len(hookspecs.REQUIRED_HOOKS)
    missing = undocumented(hookspecs, REFERENCE.read_text(encoding="utf-8"))
    assert not missing, "add a section headed by the exact signature to docs/plugins/hooks.md:\n" + "\n".join(
        f"## `{sig}`" for sig in missing)


def test_reference_has_no_section_for_a_hook_that_does_not_exist():
    declared = {hook_signature(fn) for fn in hookspecs_of(hookspecs).values()}
    assert reference_headings(REFERENCE.read_text(encoding="utf-8")) == declared


def test_every_hook_is_called_by_a_test():
    missing = untested(hookspecs, test_sources())
    assert not missing, f"no test calls {missing}: add one (the contract suite in hub/testing, or a plugin's tests)"


def test_every_reference_section_has_arguments_returns_errors_and_an_example():
    text = REFERENCE.read_text(encoding="utf-8")
    sections = re.split(r"^## ", text, flags=re.MULTILINE)
    for spec in hookspecs_of(hookspecs).values():
        [section] = [s for s in sections if s.startswith(f"`{hook_signature(spec)}`")]
        for part in ("**Arguments:**", "**Returns:**", "**Errors:**", "**Example:**", "```python", "@hookimpl"):
            assert part in section, f"{spec.__name__}: the section lacks {part}"


# -- the checks fail when they should (a temporary hookspec) ---------------------------------------------
def temporary_hookspecs() -> types.ModuleType:
    """The real hookspecs plus one new hook that has neither docs nor a test."""
    module = types.ModuleType("temporary_hookspecs")
    vars(module).update(hookspecs_of(hookspecs))

    @hookspecs.hookspec(firstresult=True)
    def hub_list_projects(ctx: "Context", credentials: dict, since: "dt.date | None") -> "list[Project]":  # noqa: F821
        """Projects of the account."""

    module.hub_list_projects = hub_list_projects
    return module


def test_the_docs_check_fails_for_a_hook_without_a_section():
    missing = undocumented(temporary_hookspecs(), REFERENCE.read_text(encoding="utf-8"))
    assert missing == ["hub_list_projects(ctx: Context, credentials: dict, since: dt.date | None) -> "
                       "list[Project]"]


def test_the_docs_check_fails_when_a_section_is_removed_or_its_signature_drifts():
    text = REFERENCE.read_text(encoding="utf-8")
    heading = "## `hub_list_tax_rates(ctx: Context, credentials: dict) -> list[TaxRate]`"
    assert heading in text
    assert undocumented(hookspecs, text.replace(heading, "")) == [heading[4:-1]]
    drifted = text.replace(heading, "## `hub_list_tax_rates(ctx: Context, credentials: dict) -> list`")
    assert undocumented(hookspecs, drifted) == [heading[4:-1]]


def test_the_test_check_fails_for_a_hook_no_test_calls():
    sources = test_sources()
    assert untested(temporary_hookspecs(), sources) == ["hub_list_projects"]
    assert untested(temporary_hookspecs(), {**sources, "tests/test_projects.py":
                                            'registry.call("x", "hub_list_projects", ctx=ctx)'}) == []


def test_a_hook_implementation_is_not_mistaken_for_a_test_calling_it():
    assert untested(temporary_hookspecs(), {"plugin.py": "def hub_list_projects(ctx, credentials):"}) != []


# -- the rest of the kit is where the docs say -----------------------------------------------------------
@pytest.mark.parametrize("page", PAGES)
def test_plugin_docs_pages_exist_and_their_links_resolve(page):
    text = (DOCS / page).read_text(encoding="utf-8")
    assert text.startswith("# ")
    for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", text):
        assert (DOCS / target).is_file(), f"{page} links to a missing page {target}"


def test_versions_in_the_docs_are_current():
    compatibility = (DOCS / "compatibility.md").read_text(encoding="utf-8")
    assert f"`HUB_API_VERSION = \"{hookspecs.HUB_API_VERSION}\"`" in compatibility
    assert f"contract **{hookspecs.HUB_API_VERSION}**" in REFERENCE.read_text(encoding="utf-8")
    testing = (DOCS / "testing.md").read_text(encoding="utf-8")
    assert f"## Contract suite {hub.testing.CONTRACT_SUITE_VERSION}" in testing
    assert hub.testing.__version__ == hub.testing.CONTRACT_SUITE_VERSION


def test_every_contract_check_is_documented():
    testing = (DOCS / "testing.md").read_text(encoding="utf-8")
    checks = [name for name in dir(hub.testing.VendorContractTests) if name.startswith("test_")]
    assert len(checks) >= 12
    for name in checks:
        assert f"`{name}`" in testing, f"docs/plugins/testing.md does not describe {name}"


def test_guide_names_the_real_entry_point_groups_and_commands():
    guide = (DOCS / "author-guide.md").read_text(encoding="utf-8")
    for needle in (ENTRY_POINT_GROUP, "hub.sandboxes", "flask hub new-plugin", "flask hub plugins",
                   "VendorContractTests", "HUB_STRICT_PLUGINS", "ctx.http"):
        assert needle in guide


def test_every_in_repo_plugin_runs_the_shared_contract_suite():
    """Each plugin under plugins/ subclasses hub.testing.VendorContractTests (the suite itself, not a copy)."""
    plugins = sorted(p.parent for p in (ROOT / "plugins").glob("*/setup.cfg"))
    assert len(plugins) >= 6
    checks = [name for name in dir(hub.testing.VendorContractTests) if name.startswith("test_")]
    for plugin in plugins:
        sources = {p: p.read_text(encoding="utf-8") for p in (plugin / "tests").rglob("*.py")}
        assert any(re.search(r"^class \w+\(VendorContractTests\):", text, re.MULTILINE)
                   and "from hub.testing import" in text for text in sources.values()), (
            f"{plugin.name}: no test class subclasses hub.testing.VendorContractTests")
        copied = [name for text in sources.values() for name in checks if f"def {name}(" in text]
        assert not copied, f"{plugin.name} redefines contract checks {copied}: use the shared suite"

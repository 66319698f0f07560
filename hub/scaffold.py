"""``flask hub new-plugin NAME``: generate a working vendor plugin from ``hub/scaffold_template/``.

The template is a folder of ``*.tmpl`` files (shipped as package data). Generating one copies it to
``DEST/NAME/``: ``__package__`` in a path becomes ``hub_NAME``, the ``.tmpl`` suffix is dropped, and
these placeholders are replaced in every file:

| placeholder          | example                |
|----------------------|------------------------|
| ``{{slug}}``         | ``acme``               |
| ``{{package}}``      | ``hub_acme``           |
| ``{{distribution}}`` | ``hub-acme``           |
| ``{{name}}``         | ``Acme`` (display name)|
| ``{{api_version}}``  | ``1.0`` (the contract) |

The result installs with ``pip install -e DEST/NAME``, registers the entry points ``hub.vendors`` and
``hub.sandboxes``, and its tests (the shared contract suite plus one test per hook) pass as generated.
"""

from __future__ import annotations

import re
from pathlib import Path

from hub.hookspecs import HUB_API_VERSION

TEMPLATE = Path(__file__).parent / "scaffold_template"
SLUG_RE = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
NAME_RE = re.compile(r"^[\w .&'-]{1,60}$")


class ScaffoldError(ValueError):
    """The plugin cannot be generated (bad name, folder already there)."""


def placeholders(slug: str, name: str | None = None) -> dict[str, str]:
    """The values substituted into the template for vendor ``slug``."""
    if not SLUG_RE.match(slug):
        raise ScaffoldError(f"{slug!r} is not a valid vendor slug: use 2-31 lowercase letters, digits or "
                            "underscores, starting with a letter (it is the entry-point name and part of "
                            "the package name hub_<slug>).")
    name = name or slug.replace("_", " ").title()
    if not NAME_RE.match(name):
        raise ScaffoldError(f"{name!r} is not a usable display name (letters, digits, spaces, . & ' -).")
    return {"slug": slug, "package": f"hub_{slug}", "distribution": f"hub-{slug.replace('_', '-')}",
            "name": name, "api_version": HUB_API_VERSION}


def render(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def create_plugin(slug: str, dest: str | Path = "plugins", *, name: str | None = None) -> Path:
    """Generate the plugin ``slug`` into ``dest/slug`` and return that folder. Refuses to overwrite."""
    values = placeholders(slug, name)
    target = Path(dest) / slug
    if target.exists():
        raise ScaffoldError(f"{target} already exists; choose another --dest or remove it first.")
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        relative = source.relative_to(TEMPLATE).with_suffix("")  # drops .tmpl
        out = target / Path(*(values["package"] if part == "__package__" else part for part in relative.parts))
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render(source.read_text(encoding="utf-8"), values), encoding="utf-8")
    return target

"""Sphinx configuration of the Integration Hub documentation site (``make docs``; warnings are errors).

The reference pages are generated from the code's own docstrings (``hub.hookspecs``, ``hub.types``,
``hub.errors``, ``hub.credentials``, ``hub.testing``), so they cannot drift from the contract; the guides are
Markdown (MyST) and read the same on GitHub."""

from __future__ import annotations

import importlib.util

import hub

project = "Integration Hub"
author = "Integration Hub contributors"
copyright = "Integration Hub contributors, Apache-2.0"
release = hub.__version__
version = ".".join(release.split(".")[:2])

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
# Dataclass fields are documented in each class's "Attributes" section; napoleon turns them into entries.
napoleon_use_ivar = False
napoleon_attr_annotations = True
nitpicky = False
# `make docs` installs the docs extra only: the contract suite's module imports pytest, which is then absent
if importlib.util.find_spec("pytest") is None:
    autodoc_mock_imports = ["pytest"]

html_theme = "alabaster"
html_title = f"Integration Hub {release}"

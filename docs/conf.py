"""Sphinx configuration. Build: ``sphinx-build -W -b html docs docs/_build/html``.

The theory catalogue and the CLI reference are generated here from the registered claims
and from the command line itself, so they cannot drift from the code. Set
``ATTNSPARSE_REPORT`` to a ``report.json`` written by ``attnsparse check --out DIR`` to
show each claim's last verdict.
"""

import contextlib
import io
import json
import os
from pathlib import Path

import attnsparse
from attnsparse import cli
from attnsparse.proofs.document import catalogue_markdown

project = "attnsparse"
author = "the attnsparse developers"
release = version = attnsparse.__version__
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax"]
myst_enable_extensions = ["dollarmath", "amsmath"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "examples", ".ipynb_checkpoints", "README.md"]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
autodoc_member_order = "bysource"
html_theme = "alabaster"

HERE = Path(__file__).parent
GENERATED = HERE / "generated"


def _last_results():
    path = os.environ.get("ATTNSPARSE_REPORT")
    if not path:
        return {}
    with open(path, encoding="utf-8") as f:
        rows = json.load(f)["results"]
    out = {}
    for r in rows:
        out.setdefault(r["claim_id"], r)
    return out


def _help(args):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        try:
            cli.main(args)
        except SystemExit:
            pass
    return buf.getvalue()


def _cli_reference():
    commands = ["list", "show", "check", *(m.replace("_", "-") for m in cli.COMMAND_MODULES)]  # plot_bound: plot-bound
    parts = ["# Command-line reference", "", "Generated from `attnsparse --help` when the documentation is built.",
             "", "```text", _help(["--help"]).rstrip(), "```", ""]
    for name in commands:
        parts += [f"## `attnsparse {name}`", "", "```text", _help([name, "--help"]).rstrip(), "```", ""]
    return "\n".join(parts)


def _write_if_changed(path, text):
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


GENERATED.mkdir(exist_ok=True)
_write_if_changed(GENERATED / "catalogue.md", catalogue_markdown(attnsparse.claims(), _last_results()))
_write_if_changed(GENERATED / "cli.md", _cli_reference())

"""The package's layers import one way: build -> store -> web, each checked in a fresh interpreter.

``collabkg/__init__.py`` draws the picture; this keeps it true. A layer that imported one above it (the build
the web, the web the reasoner) would load modules it must not: each package is imported alone in a new Python
process and the modules it loaded are compared with what it may load.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Per package: module prefixes its import must not load.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    # The build writes what the server reads: it never needs the web, the command line or a store elsewhere.
    "collabkg.build": ("flask", "werkzeug", "jinja2", "collabkg.web", "collabkg.cli", "SPARQLWrapper"),
    # Stores answer queries: no web, no build, no reasoner or validator.
    "collabkg.store": ("flask", "collabkg.web", "collabkg.build", "collabkg.cli", "owlrl", "pyshacl"),
    "collabkg.store.remote": ("flask", "collabkg.web", "collabkg.build", "collabkg.cli", "owlrl", "pyshacl"),
    "collabkg.evidence": ("flask", "collabkg.web", "collabkg.build", "collabkg.cli", "owlrl", "pyshacl"),
    "collabkg.queryfiles": ("flask", "collabkg.web", "collabkg.build", "collabkg.cli", "owlrl", "pyshacl"),
    "collabkg.manifest": ("flask", "collabkg.web", "collabkg.build", "collabkg.cli", "owlrl", "pyshacl"),
    # The text index is written by the build and read by the web and the command line: it needs neither.
    "collabkg.search": ("flask", "collabkg.web", "collabkg.build", "collabkg.cli", "owlrl", "pyshacl"),
    "collabkg.publish": ("flask", "collabkg.web", "collabkg.build", "collabkg.cli", "owlrl", "pyshacl"),
    # The web service only loads what the build wrote: never the build, its reasoner or its validator.
    "collabkg.web": ("collabkg.build", "collabkg.cli", "owlrl", "pyshacl"),
    # The command line imports the build only when it builds: serving a current build, or querying it, never
    # pays for the reasoner and the validator (a third of a second of every start).
    "collabkg.cli": ("collabkg.build", "owlrl", "pyshacl"),
}


def loaded_by(module: str) -> list[str]:
    """The names in ``sys.modules`` after importing ``module`` alone in a new interpreter."""
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return list(json.loads(result.stdout))


@pytest.mark.parametrize("package", list(FORBIDDEN))
def test_a_layer_loads_nothing_above_it(package: str) -> None:
    loaded = loaded_by(package)
    assert package in loaded
    wrong = [name for name in loaded if name.startswith(FORBIDDEN[package])]
    assert wrong == [], f"importing {package} loads {wrong}"


def test_the_check_sees_a_forbidden_import() -> None:
    """The command line is on top of everything: importing it loads the web, so the check above would see it
    were a layer to import the command line; and ``collabkg.build`` loads the validator and the reasoner."""
    loaded = loaded_by("collabkg.cli")
    assert "collabkg.web" in loaded and "flask" in loaded
    loaded = loaded_by("collabkg.build")
    assert "pyshacl" in loaded and "owlrl" in loaded

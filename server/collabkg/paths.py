"""Where the project's inputs and the build output live.

The graph's sources (``ontology/``, ``data/``, ``queries/``) are files of the repository, not of the Python
package: people extend the graph by editing them. ``COLLABKG_ROOT`` points elsewhere (a checkout with your own
reviews added); by default it is the source tree this package was installed from (``pip install -e .``).
``COLLABKG_BUILD_DIR`` moves the build output away from ``build/``. Both are read once, by
:func:`project_paths`, when the paths are made.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProjectPaths:
    """The folders of one collabkg project tree, and the folder its build output goes to."""

    root: Path
    build_dir: Path

    @property
    def ontology_dir(self) -> Path:
        return self.root / "ontology"

    @property
    def ontology_file(self) -> Path:
        return self.ontology_dir / "collabkg.ttl"

    @property
    def shapes_file(self) -> Path:
        return self.ontology_dir / "shapes.ttl"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def queries_dir(self) -> Path:
        return self.root / "queries"

    @property
    def dataset_file(self) -> Path:
        """The build's output: every named graph in TriG."""
        return self.build_dir / "collabkg.trig"

    @property
    def manifest_file(self) -> Path:
        """Hashes of the inputs the current output was built from, and the build's counts."""
        return self.build_dir / "manifest.json"

    def data_files(self) -> list[Path]:
        """Every Turtle file of ``data/``, in a stable order."""
        return sorted(self.data_dir.glob("*.ttl"))

    def query_files(self) -> list[Path]:
        """Every query file of ``queries/`` and its folders, in a stable order."""
        return sorted(self.queries_dir.rglob("*.rq"))


def default_root() -> Path:
    """The project tree: ``$COLLABKG_ROOT``, else the checkout that holds this package."""
    env = os.environ.get("COLLABKG_ROOT")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parents[2]


def project_paths(root: Path | None = None, build_dir: Path | None = None) -> ProjectPaths:
    """The paths of the project at ``root`` (default :func:`default_root`), its output in ``build_dir``
    (default ``$COLLABKG_BUILD_DIR``, else ``build/`` in the project)."""
    resolved = root.resolve() if root else default_root()
    if build_dir is None:
        env = os.environ.get("COLLABKG_BUILD_DIR")
        build_dir = Path(env) if env else resolved / "build"
    return ProjectPaths(resolved, build_dir.resolve())

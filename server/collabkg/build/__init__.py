"""The build: turn ``ontology/`` and ``data/`` into the dataset the server loads (see :mod:`.pipeline`)."""

from .pipeline import (
    BuildError,
    BuildResult,
    ValidationFailed,
    build,
    parse_turtle,
    write_dataset,
)

__all__ = [
    "BuildError",
    "BuildResult",
    "ValidationFailed",
    "build",
    "parse_turtle",
    "write_dataset",
]

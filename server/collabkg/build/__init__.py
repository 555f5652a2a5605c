"""The build: turn ``ontology/`` and ``data/`` into the dataset the server loads (see :mod:`.pipeline`)."""

from .pipeline import (
    BuildError,
    BuildResult,
    ValidationFailed,
    build,
    write_dataset,
)
from .turtle import TurtleSyntaxError, parse_turtle, read_turtle

__all__ = [
    "BuildError",
    "BuildResult",
    "TurtleSyntaxError",
    "ValidationFailed",
    "build",
    "parse_turtle",
    "read_turtle",
    "write_dataset",
]

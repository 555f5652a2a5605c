"""The served dataset: the :class:`Store` interface and the embedded store (remote stores: :mod:`.remote`)."""

from .base import BuildUnavailable, DatasetLoadError, DatasetSource, Store, StoreUnavailable
from .local import LocalStore, load_store, new_dataset, open_built

__all__ = [
    "BuildUnavailable",
    "DatasetLoadError",
    "DatasetSource",
    "LocalStore",
    "Store",
    "StoreUnavailable",
    "load_store",
    "new_dataset",
    "open_built",
]

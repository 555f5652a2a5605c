"""The served dataset: the :class:`Store` interface and the embedded store (remote stores: :mod:`.remote`)."""

from .base import DatasetLoadError, DatasetSource, Store, StoreUnavailable
from .local import LocalStore, load_snapshot, load_store, new_dataset, snapshot

__all__ = [
    "DatasetLoadError",
    "DatasetSource",
    "LocalStore",
    "Store",
    "StoreUnavailable",
    "load_snapshot",
    "load_store",
    "new_dataset",
    "snapshot",
]

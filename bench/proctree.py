"""The memory of a server that is a tree of processes (gunicorn's master, its workers, their query processes).

Shared by :mod:`bench.availability` (memory along a soak) and :mod:`bench.query_bench` (memory at size). The
proportional set size (PSS, ``/proc/PID/smaps_rollup``) divides each shared page among the processes mapping
it, so the sum over the tree counts what the whole server costs the machine, each page once; resident set sizes
would count the pages the workers share after the fork once per worker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TreeMemory", "pss_bytes", "tree", "tree_memory"]


def tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rpartition(")")[2].split()[1])
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


@dataclass(frozen=True)
class TreeMemory:
    """PSS summed over a process tree, and how many of its processes were and were not read: a process whose
    ``smaps_rollup`` cannot be read (it ended meanwhile, or is not ours to read) is left out of the sum, so a
    report must say how many were."""

    bytes: int
    processes: int
    unread: int


def tree_memory(root: int) -> TreeMemory:
    """The PSS of the process tree under ``root``."""
    total, read, unread = 0, 0, 0
    for pid in tree(root):
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            unread += 1
            continue
        read += 1
        for line in rollup.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) * 1024
    return TreeMemory(total, read, unread)


def pss_bytes(root: int) -> int:
    """Proportional set size of the process tree under ``root``: shared pages counted once over all of them."""
    return tree_memory(root).bytes

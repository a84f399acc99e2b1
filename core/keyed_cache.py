"""Build-once caches: one object per key, built on first use, shared by every thread after.

The one implementation behind the network cache (:mod:`core.zoo.cache`) and the
workbench's detector and model caches. It imports nothing heavy, so the GUI can
hold one from start-up and fill it in a worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class KeyedCache(Generic[K, V]):
    """Objects by key; thread-safe, each key built at most once.

    One lock per key: two threads asking for the same object wait for one
    build, while different keys build in parallel. A build that raises leaves
    nothing behind, so the next call tries again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._objects: dict[K, V] = {}
        self._key_locks: dict[K, threading.Lock] = {}

    def get(self, key: K, build: Callable[[], V]) -> V:
        """The object under ``key``, calling ``build()`` (once) when there is none yet."""
        with self._lock:
            if key in self._objects:
                return self._objects[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._objects:
                    return self._objects[key]
            value = build()
            with self._lock:
                self._objects[key] = value
            return value

    def clear(self) -> None:
        """Forget every object (freed once nobody else holds them)."""
        with self._lock:
            self._objects.clear()
            self._key_locks.clear()

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._objects

    def __len__(self) -> int:
        with self._lock:
            return len(self._objects)

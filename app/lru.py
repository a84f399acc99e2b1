"""A small least-recently-used cache for per-image results the panels keep."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


class LruCache(Generic[Key, Value]):
    """At most ``capacity`` entries; storing one more drops the least recently read or stored.

    Panels cache a result per (image, model) so going back to an image is
    instant; without a bound a session over a large folder would keep every
    image's results (and heat maps) in memory. ``on_evict(key, value)`` is
    called for each entry dropped to make room (not for :meth:`pop` or
    :meth:`drop_where`), so a related cache can drop its entry too.
    """

    def __init__(self, capacity: int, on_evict: Callable[[Key, Value], None] | None = None) -> None:
        if capacity < 1:
            raise ValueError(f"an LRU cache needs room for one entry, got capacity {capacity}")
        self.capacity = capacity
        self._on_evict = on_evict
        self._entries: OrderedDict[Key, Value] = OrderedDict()

    def get(self, key: Key, default: Value | None = None) -> Value | None:
        """The entry (now the most recently used), or ``default``."""
        if key not in self._entries:
            return default
        self._entries.move_to_end(key)
        return self._entries[key]

    def __getitem__(self, key: Key) -> Value:
        """The entry (now the most recently used); ``KeyError`` when absent."""
        self._entries.move_to_end(key)
        return self._entries[key]

    def __setitem__(self, key: Key, value: Value) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            old_key, old_value = self._entries.popitem(last=False)
            if self._on_evict is not None:
                self._on_evict(old_key, old_value)

    def setdefault(self, key: Key, default: Value) -> Value:
        """The entry if present (now the most recently used), else ``default`` stored."""
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        self[key] = default
        return default

    def pop(self, key: Key, default: Value | None = None) -> Value | None:
        return self._entries.pop(key, default)

    def drop_where(self, stale: Callable[[Key], bool]) -> None:
        """Remove the entries whose key is ``stale``."""
        for key in [k for k in self._entries if stale(k)]:
            del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Key]:
        """Keys from the least to the most recently used."""
        return iter(self._entries)

"""The one build-once cache: one object per key, built once under concurrent calls, failures not kept."""

from __future__ import annotations

import threading

import pytest

from core.keyed_cache import KeyedCache


def test_one_object_per_key():
    cache: KeyedCache[str, object] = KeyedCache()
    a = cache.get("a", object)
    assert cache.get("a", object) is a
    assert cache.get("b", object) is not a
    assert len(cache) == 2 and "a" in cache
    cache.clear()
    assert len(cache) == 0 and cache.get("a", object) is not a


def test_concurrent_callers_share_one_build():
    cache: KeyedCache[str, object] = KeyedCache()
    release, builds = threading.Event(), []

    def build() -> object:
        builds.append(1)
        release.wait(5)
        return object()

    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", build))) for _ in range(8)]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(5)
    assert len(builds) == 1 and len(results) == 8 and all(r is results[0] for r in results)


def test_a_failed_build_is_not_kept():
    cache: KeyedCache[str, int] = KeyedCache()

    def fail() -> int:
        raise OSError("disk")

    with pytest.raises(OSError):
        cache.get("k", fail)
    assert "k" not in cache and cache.get("k", lambda: 3) == 3

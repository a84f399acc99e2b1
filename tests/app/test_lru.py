"""The bounded per-image caches: least recently used entries go first."""

from __future__ import annotations

import pytest

from app.lru import LruCache


def test_storing_past_capacity_drops_the_least_recently_used():
    evicted = []
    cache = LruCache(2, on_evict=lambda key, value: evicted.append((key, value)))
    cache["a"], cache["b"] = 1, 2
    assert cache.get("a") == 1  # reading "a" makes "b" the oldest
    cache["c"] = 3
    assert "b" not in cache and list(cache) == ["a", "c"]
    assert evicted == [("b", 2)]
    assert cache.get("b", 0) == 0 and len(cache) == 2
    assert cache["a"] == 1 and list(cache) == ["c", "a"]
    with pytest.raises(KeyError):
        cache["b"]


def test_setdefault_pop_and_drop_where_do_not_count_as_evictions():
    evicted = []
    cache = LruCache(3, on_evict=lambda key, value: evicted.append(key))
    found = cache.setdefault(("x.jpg", "ssd"), {})
    found[0] = "analysis"
    assert cache.setdefault(("x.jpg", "ssd"), {}) == {0: "analysis"}
    cache[("y.jpg", "scaleface")] = {}
    cache[("z.jpg", "scaleface")] = {}
    cache.drop_where(lambda key: key[1] == "scaleface")
    assert list(cache) == [("x.jpg", "ssd")]
    assert cache.pop(("x.jpg", "ssd")) == {0: "analysis"} and cache.pop("missing") is None
    assert evicted == []


def test_capacity_must_hold_an_entry():
    with pytest.raises(ValueError):
        LruCache(0)

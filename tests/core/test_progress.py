"""The one progress shape and the helpers that drive progress generators."""

from __future__ import annotations

import pytest

from core.progress import Progress, drain, relabelled, relay


def _counting(total: int, cleaned: list[str] | None = None):
    try:
        for done in range(1, total + 1):
            yield Progress(done, total)
        return f"counted {total}"
    finally:
        if cleaned is not None:
            cleaned.append("closed")


def test_fraction_is_none_while_the_total_is_unknown():
    assert Progress(message="busy").fraction is None
    assert Progress(3, 0).fraction is None
    assert Progress(1, 4).fraction == 0.25
    assert Progress(5, 4).fraction == 1.0  # an estimated total may be overrun


def test_relay_hands_every_item_over_and_returns_the_result():
    seen = []
    assert relay(_counting(3), seen.append) == "counted 3"
    assert seen == [Progress(1, 3), Progress(2, 3), Progress(3, 3)]
    assert drain(_counting(2)) == "counted 2"


def test_relay_closes_the_generator_when_the_callback_raises():
    cleaned: list[str] = []

    def stop(progress: Progress) -> None:
        if progress.done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        relay(_counting(5, cleaned), stop)
    assert cleaned == ["closed"]


def test_relabelled_rewords_the_messages_and_returns_the_result():
    def outer():
        result = yield from relabelled(_counting(2), lambda p: f"step {p.done} of {p.total}")
        return result.upper()

    seen = []
    assert relay(outer(), seen.append) == "COUNTED 2"
    assert seen == [Progress(1, 2, "step 1 of 2"), Progress(2, 2, "step 2 of 2")]


def test_relabelled_throws_a_cancel_into_the_inner_generator():
    inner_saw = []

    def inner():
        try:
            yield Progress(1, 2)
            yield Progress(2, 2)
        except LookupError:
            inner_saw.append("cancel")
            raise

    gen = relabelled(inner(), lambda p: "x")
    assert next(gen) == Progress(1, 2, "x")
    with pytest.raises(LookupError):
        gen.throw(LookupError())
    assert inner_saw == ["cancel"]

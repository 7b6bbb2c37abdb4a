"""The context block: the budget bound (hypothesis, with the real counter), grouping, duplicates."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from service.context.render import Entry, render
from service.context.select import dedupe, fit
from service.context.tokens import token_counter

COUNTER = token_counter()
T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def entry(text: str, *, minutes: int = 0, session: str | None = None, **kw: object) -> Entry:
    return Entry(
        id=uuid.uuid4(),
        text=text,
        occurred_at=T0 + timedelta(minutes=minutes),
        session_id=session,
        speaker=kw.get("speaker"),  # type: ignore[arg-type]
        status=kw.get("status"),  # type: ignore[arg-type]
    )


entries = st.lists(
    st.builds(
        entry,
        st.text(min_size=1, max_size=300),
        minutes=st.integers(0, 60 * 24 * 400),
        session=st.none() | st.sampled_from(["s1", "s2", "a session\nname"]),
        speaker=st.none() | st.text(max_size=20),
        status=st.sampled_from([None, "current", "outdated"]),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(entries, st.integers(1, 600), st.sampled_from(["text", "markdown", "json"]))
def test_the_block_never_exceeds_the_budget(ranked: list[Entry], budget: int, fmt: str) -> None:
    fitted = fit(
        ranked,
        max_tokens=budget,
        fmt=fmt,  # type: ignore[arg-type]
        count=COUNTER.count,
        count_many=COUNTER.count_many,
    )
    assert COUNTER.count(fitted.block) == fitted.tokens <= budget
    assert fitted.block == render(fitted.entries, fmt)  # type: ignore[arg-type]
    assert len(fitted.entries) + fitted.over_budget == len(ranked)
    if fmt == "json" and fitted.entries:
        assert len(json.loads(fitted.block)) == len(fitted.entries)


@settings(max_examples=100, deadline=None)
@given(entries, st.sampled_from(["text", "markdown", "json"]))
def test_the_piece_counts_add_up_to_the_block_count(ranked: list[Entry], fmt: str) -> None:
    """The fitting adds pieces up: a budget of exactly the block's own count keeps every entry
    (so the estimate is not above the real count), unless the whole-block check had to trim."""
    everything = render(ranked, fmt)  # type: ignore[arg-type]
    budget = max(COUNTER.count(everything), 1)
    fitted = fit(
        ranked,
        max_tokens=budget,
        fmt=fmt,  # type: ignore[arg-type]
        count=COUNTER.count,
        count_many=COUNTER.count_many,
    )
    assert len(fitted.entries) == len(ranked)


def test_best_ranked_first_and_a_long_memory_leaves_room_for_shorter_ones() -> None:
    long = entry("word " * 300)
    short = [entry(f"short fact number {i}", minutes=i) for i in range(3)]
    fitted = fit(
        [short[0], long, short[1], short[2]],
        max_tokens=60,
        fmt="text",
        count=COUNTER.count,
        count_many=COUNTER.count_many,
    )
    assert fitted.entries == short
    assert fitted.over_budget == 1


def test_grouped_by_session_then_day_and_chronological_inside() -> None:
    late = entry("we moved the launch", minutes=120, session="s1", speaker="Ann")
    early = entry("launch is on Monday", minutes=5, session="s1", speaker="Bob", status="outdated")
    loose = entry("Ann: bought a bike", minutes=60 * 24 * 3, speaker="Ann", status="current")
    text = render([loose, late, early], "text")
    assert text.splitlines() == [
        "Session s1 (2026-03-01):",
        "[2026-03-01 09:35] Bob: launch is on Monday (outdated)",
        "[2026-03-01 11:30] Ann: we moved the launch",
        "",
        "2026-03-04:",
        "[2026-03-04 09:30] Ann: bought a bike (current)",
    ]
    markdown = render([loose, early], "markdown")
    assert markdown.splitlines()[0] == "## Session s1 (2026-03-01)"
    assert "- **2026-03-04 09:30** Ann: bought a bike (current)" in markdown
    items = json.loads(render([late, early], "json"))
    assert [i["text"] for i in items] == ["launch is on Monday", "we moved the launch"]
    assert items[0] == {
        "date": "2026-03-01T09:35:00Z",
        "session": "s1",
        "speaker": "Bob",
        "text": "launch is on Monday",
        "status": "outdated",
    }


def test_duplicates_keep_the_best_ranked() -> None:
    first = entry("I am allergic to peanuts and shellfish.")
    same = entry("i am ALLERGIC to peanuts, and shellfish")
    near = entry("I am allergic to peanuts and shellfish too")  # 7 of 8 words: 0.875, kept
    restated = entry("my sister Jane lives in Lisbon near the old harbour now")
    again = entry("My sister Jane lives in Lisbon near the old harbour now!")
    other = entry("I like cycling")
    kept, dropped = dedupe([first, same, near, restated, again, other])
    assert kept == [first, near, restated, other]
    assert dropped == 2


def test_the_counter() -> None:
    assert COUNTER.count("") == 0
    assert COUNTER.count("hello world") == 2
    assert COUNTER.count("a\nb") == 3  # a line break counts
    assert COUNTER.count("🙂") == 4  # what the vocabulary cannot spell counts its UTF-8 bytes
    assert COUNTER.count_many(["hello world", "", "🙂"]) == [2, 0, 4]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=80), max_size=20))
def test_counting_many_at_once_is_counting_each(texts: list[str]) -> None:
    assert COUNTER.count_many(texts) == [COUNTER.count(t) for t in texts]

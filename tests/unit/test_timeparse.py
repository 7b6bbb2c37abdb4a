from __future__ import annotations

from datetime import UTC, datetime

import pytest

from channels.timeparse import has_time_expression, mentioned_windows, parse_query_time

REF = datetime(2023, 10, 20, 12, 0, tzinfo=UTC)  # a Friday


def d(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("what happened on 8 May 2023", d(2023, 5, 8), d(2023, 5, 9)),
        ("on May 8th, 2023", d(2023, 5, 8), d(2023, 5, 9)),
        ("2023-05-08 meeting", d(2023, 5, 8), d(2023, 5, 9)),
        ("camping in June", d(2023, 6, 1), d(2023, 7, 1)),
        ("camping in December", d(2022, 12, 1), d(2023, 1, 1)),
        ("in October 2023", d(2023, 10, 1), d(2023, 11, 1)),
        ("in 2022", d(2022, 1, 1), d(2023, 1, 1)),
        ("yesterday", d(2023, 10, 19), d(2023, 10, 20)),
        ("today", d(2023, 10, 20), d(2023, 10, 21)),
        ("last week", d(2023, 10, 9), d(2023, 10, 16)),
        ("last weekend", d(2023, 10, 14), d(2023, 10, 16)),
        ("last month", d(2023, 9, 1), d(2023, 10, 1)),
        ("last year", d(2022, 1, 1), d(2023, 1, 1)),
        ("on Tuesday", d(2023, 10, 17), d(2023, 10, 18)),
        ("last Friday", d(2023, 10, 13), d(2023, 10, 14)),
        ("the summer of 2022", d(2022, 6, 1), d(2022, 9, 1)),
        ("before 8 May 2023", d(1900, 1, 1), d(2023, 5, 8)),
    ],
)
def test_query_windows(text: str, start: datetime, end: datetime) -> None:
    parsed = parse_query_time(text, REF)
    assert parsed is not None
    assert (parsed.window.start, parsed.window.end) == (start, end)


def test_relative_amounts_ago() -> None:
    parsed = parse_query_time("what did I do two months ago?", REF)
    assert parsed is not None
    assert parsed.window.start < d(2023, 8, 20, 12) < parsed.window.end
    assert parse_query_time("3 days ago", REF).window.start < d(2023, 10, 17, 12)  # type: ignore[union-attr]


def test_preferences() -> None:
    recent = parse_query_time("What did Melanie paint recently?", REF)
    assert recent is not None and recent.prefer == "latest"
    assert recent.window.end > REF > recent.window.start
    first = parse_query_time("the first time she went hiking", REF)
    assert first is not None and first.prefer == "earliest"


def test_when_questions_without_a_time_are_not_time_queries() -> None:
    assert parse_query_time("When did Caroline go to the LGBTQ support group?", REF) is None
    assert not has_time_expression("What is Jon's favourite dance?", REF)
    assert has_time_expression("What did Jon do in May 2023?", REF)


def test_memory_mentions_resolve_against_their_own_time() -> None:
    sent = d(2023, 5, 8, 13, 56)
    (window,) = mentioned_windows(
        "I went to a LGBTQ support group yesterday and it was powerful.", sent
    )
    assert (window.start, window.end) == (d(2023, 5, 7), d(2023, 5, 8))
    (week,) = mentioned_windows("We moved house last week", sent)
    assert (week.start, week.end) == (d(2023, 5, 1), d(2023, 5, 8))
    assert mentioned_windows("I love painting sunsets", sent) == []

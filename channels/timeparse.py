"""Time expressions in English text, resolved against a reference time, with no model.

``parse_query_time(text, reference)`` finds the window a query asks about ("in May 2023",
"last week", "two months ago", "recently", "before 10 April 2023") and whether it prefers
the earliest or latest match ("the first time", "most recently").
``mentioned_windows(text, occurred_at)`` finds the dates a memory's own text mentions,
resolved against the memory's event time: "yesterday" in a message of 8 May 2023 is
7 May 2023. All datetimes are timezone-aware UTC; windows are half-open ``[start, end)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dateutil.relativedelta import relativedelta

MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
WEEKDAYS = {
    d: i
    for i, d in enumerate(
        ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    )
}
NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "couple": 2,
    "few": 3,
    "several": 3,
}
SEASONS = {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 12}
UNITS = {"day": "days", "week": "weeks", "month": "months", "year": "years"}

_M = r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_D = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_Y = r"(?P<year>(?:19|20)\d\d)"
_NUM = r"(?P<n>\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|couple|few|several)"

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(?P<year>\d{4})-(?P<mo>\d{2})-(?P<day>\d{2})\b")),
    ("dmy", re.compile(rf"\b{_D}\s+(?:of\s+)?{_M},?\s+{_Y}\b")),
    ("mdy", re.compile(rf"\b{_M}\s+{_D},?\s+{_Y}\b")),
    ("dm", re.compile(rf"\b{_D}\s+(?:of\s+)?{_M}\b")),
    ("md", re.compile(rf"\b{_M}\s+{_D}\b(?!\s*(?:,\s*)?(?:19|20)\d\d)")),
    ("my", re.compile(rf"\b{_M},?\s+{_Y}\b")),
    (
        "season_year",
        re.compile(rf"\b(?P<season>spring|summer|fall|autumn|winter)\s+(?:of\s+)?{_Y}\b"),
    ),
    ("month", re.compile(rf"\b(?:in|during|this|last|of|since|early|late|mid)[\s-]+{_M}\b")),
    (
        "season",
        re.compile(
            r"\b(?:the|this|last|in|during)\s+(?P<season>spring|summer|fall|autumn|winter)\b"
        ),
    ),
    ("year", re.compile(rf"\b{_Y}\b")),
    ("ago", re.compile(rf"\b{_NUM}\s+(?P<unit>day|week|month|year)s?\s+ago\b")),
    (
        "rel",
        re.compile(
            r"\b(?P<which>last|past|this|next|previous)\s+(?P<unit>day|week|weekend|month|year)\b"
        ),
    ),
    (
        "weekday",
        re.compile(
            r"\b(?:on\s+|last\s+|this\s+|past\s+)?(?P<weekday>monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b"
        ),
    ),
    ("yesterday", re.compile(r"\byesterday\b")),
    ("today", re.compile(r"\b(?:today|tonight|this (?:morning|afternoon|evening))\b")),
    ("tomorrow", re.compile(r"\btomorrow\b")),
]
# Every pattern above needs a digit or a word starting with one of these: a text without
# any is skipped with one scan (most memories mention no time; 60 -> ~3 us per memory).
_MAY_MATCH = re.compile(
    r"\d|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|spring|summer|fall|autumn"
    r"|winter|day|week|month|year|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|yesterday|today|tonight|this|tomorrow)"
)
_BEFORE = re.compile(r"\b(?:before|prior to|until|by)\s*$")
_AFTER = re.compile(r"\b(?:after|since)\s*$")
_RECENT = re.compile(r"\b(?:recently|lately|latest|most recent(?:ly)?|last time|these days)\b")
_FIRST = re.compile(r"\b(?:first time|first|earliest|initially|originally)\b")


@dataclass(frozen=True, slots=True)
class TimeWindow:
    start: datetime
    end: datetime
    expression: str


@dataclass(frozen=True, slots=True)
class TimeQuery:
    window: TimeWindow
    prefer: str = "none"  # "earliest" | "latest" | "none"


def _day(dt: datetime) -> datetime:
    return dt.replace(hour=0, minute=0, second=0, microsecond=0)


def _month(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=UTC)
    return start, start + relativedelta(months=1)


def _safe_date(year: int, month: int, day: int) -> datetime | None:
    try:
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None


def _resolve(kind: str, m: re.Match[str], ref: datetime) -> tuple[datetime, datetime] | None:
    g = m.groupdict()
    today = _day(ref)
    if kind in ("iso", "dmy", "mdy"):
        month = int(g["mo"]) if kind == "iso" else MONTHS[g["month"]]
        start = _safe_date(int(g["year"]), month, int(g["day"]))
        return (start, start + timedelta(days=1)) if start else None
    if kind in ("dm", "md"):
        month = MONTHS[g["month"]]
        start = _safe_date(ref.year, month, int(g["day"]))
        if start and start > ref:
            start = _safe_date(ref.year - 1, month, int(g["day"]))
        return (start, start + timedelta(days=1)) if start else None
    if kind == "my":
        return _month(int(g["year"]), MONTHS[g["month"]])
    if kind == "month":
        month = MONTHS[g["month"]]
        year = ref.year if month <= ref.month else ref.year - 1
        return _month(year, month)
    if kind in ("season", "season_year"):
        first = SEASONS[g["season"]]
        year = (
            int(g["year"]) if g.get("year") else (ref.year if first <= ref.month else ref.year - 1)
        )
        start = datetime(year, first, 1, tzinfo=UTC)
        return start, start + relativedelta(months=3)
    if kind == "year":
        year = int(g["year"])
        return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    if kind == "ago":
        n = int(g["n"]) if g["n"].isdigit() else NUMBERS[g["n"]]
        unit = UNITS[g["unit"]]
        center = ref - relativedelta(**{unit: n})
        slack = {
            "days": timedelta(days=1),
            "weeks": timedelta(days=4),
            "months": timedelta(days=16),
            "years": timedelta(days=183),
        }[unit]
        return center - slack, center + slack
    if kind == "rel":
        which, unit = g["which"], g["unit"]
        step = {"last": -1, "past": -1, "previous": -1, "this": 0, "next": 1}[which]
        if unit == "day":
            return today + timedelta(days=step), today + timedelta(days=step + 1)
        if unit in ("week", "weekend"):
            monday = today - timedelta(days=today.weekday()) + timedelta(weeks=step)
            if unit == "weekend":
                return monday + timedelta(days=5), monday + timedelta(days=7)
            return monday, monday + timedelta(weeks=1)
        if unit == "month":
            start = datetime(ref.year, ref.month, 1, tzinfo=UTC) + relativedelta(months=step)
            return start, start + relativedelta(months=1)
        start = datetime(ref.year + step, 1, 1, tzinfo=UTC)
        return start, start + relativedelta(years=1)
    if kind == "weekday":
        back = (today.weekday() - WEEKDAYS[g["weekday"]]) % 7 or 7
        start = today - timedelta(days=back)
        return start, start + timedelta(days=1)
    offset = {"yesterday": -1, "today": 0, "tomorrow": 1}[kind]
    return today + timedelta(days=offset), today + timedelta(days=offset + 1)


def find_windows(text: str, reference: datetime) -> list[TimeWindow]:
    """Every time expression in ``text`` as a window, resolved against ``reference``."""
    ref = reference if reference.tzinfo else reference.replace(tzinfo=UTC)
    ref = ref.astimezone(UTC)
    lowered = text.lower()
    if _MAY_MATCH.search(lowered) is None:
        return []
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, TimeWindow]] = []
    for kind, pattern in PATTERNS:
        for m in pattern.finditer(lowered):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            window = _resolve(kind, m, ref)
            if window is None:
                continue
            taken.append((m.start(), m.end()))
            start, end = window
            prefix = lowered[max(0, m.start() - 12) : m.start()]
            if _BEFORE.search(prefix):
                start, end = datetime(1900, 1, 1, tzinfo=UTC), start
            elif _AFTER.search(prefix):
                start, end = end, max(ref, end + timedelta(days=1))
            found.append((m.start(), TimeWindow(start, end, m.group(0))))
    return [w for _, w in sorted(found, key=lambda item: item[0])]


def parse_query_time(text: str, reference: datetime) -> TimeQuery | None:
    """The window a query asks about, or None when it names no time."""
    ref = reference if reference.tzinfo else reference.replace(tzinfo=UTC)
    windows = find_windows(text, ref)
    lowered = text.lower()
    prefer = (
        "earliest" if _FIRST.search(lowered) else "latest" if _RECENT.search(lowered) else "none"
    )
    if windows:
        start = max(w.start for w in windows)
        end = min(w.end for w in windows)
        if start >= end:  # disjoint expressions: take their span
            start, end = min(w.start for w in windows), max(w.end for w in windows)
        label = ", ".join(w.expression for w in windows)
        return TimeQuery(TimeWindow(start, end, label), prefer)
    if prefer == "latest":
        return TimeQuery(
            TimeWindow(ref - timedelta(days=30), ref + timedelta(seconds=1), "recently"), prefer
        )
    if prefer == "earliest":
        return TimeQuery(
            TimeWindow(datetime(1900, 1, 1, tzinfo=UTC), ref + timedelta(seconds=1), "first"),
            prefer,
        )
    return None


def has_time_expression(text: str, reference: datetime | None = None) -> bool:
    return parse_query_time(text, reference or datetime.now(UTC)) is not None


def mentioned_windows(text: str, occurred_at: datetime) -> list[TimeWindow]:
    """Dates a memory's text mentions, resolved against its own event time."""
    return find_windows(text, occurred_at)

"""The field types every client value passes through, each with its whole rule in its schema.

A value the database cannot hold is rejected here, with a 422 naming the field, never
left for the database to refuse: NUL characters (PostgreSQL text and JSONB cannot store
U+0000), non-finite numbers (not JSON: SQLite stores them as invalid JSON, PostgreSQL refuses
them), integers beyond 64 bits in filters (SQLite cannot bind them), and datetimes that
overflow when normalised to UTC (``0001-01-01T00:00:00+14:00``). Each rule is also stated
in the OpenAPI schema (``pattern``, ``minimum``/``maximum``, ``propertyNames``), so a client
generated from ``/openapi.json`` sends only what the server accepts.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, TypeAdapter, WithJsonSchema

MAX_METADATA_BYTES = 16_384
MAX_METADATA_DEPTH = 5
MAX_KEY_CHARS = 128
MAX_CONTENT_CHARS = 32_000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

NO_NUL = r"^[^\x00]*$"
# Every character some regex dialect or str.isspace() counts as whitespace, spelled out so that
# Python, the Rust engine in pydantic and ECMA-262 (JSON Schema) all agree on "blank".
_SPACE = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
NOT_BLANK = rf"^[^\x00]*[^\x00{_SPACE}][^\x00]*$"
"""At least one character that is not whitespace, and no NUL anywhere."""
NOT_BLANK_RE = re.compile(NOT_BLANK)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?$")


def as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _datetime_text(value: Any) -> Any:
    """Only an RFC 3339 string (or a datetime): no Unix numbers, which the schema never promised."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not RFC3339.match(value):
        raise ValueError("must be an RFC 3339 date-time such as 2024-05-01T12:00:00Z")
    return value


def _utc(value: datetime) -> datetime:
    try:
        normalised = as_utc(value)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None
    assert normalised is not None
    return normalised


def _not_blank(value: str) -> str:
    # the schema's pattern says the same; this gives the message a person reads
    if not NOT_BLANK_RE.match(value):
        raise ValueError("must contain a non-whitespace character and no NUL characters")
    return value


Timestamp = Annotated[
    datetime,
    BeforeValidator(_datetime_text),
    AfterValidator(_utc),
    Field(description="RFC 3339; without an offset it is taken as UTC."),
]
Content = Annotated[
    str,
    Field(min_length=1, max_length=MAX_CONTENT_CHARS, json_schema_extra={"pattern": NOT_BLANK}),
    AfterValidator(_not_blank),
]
ScopeId = Annotated[str, Field(min_length=1, max_length=255, pattern=NO_NUL)]
KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS, "pattern": NO_NUL}


def _check_json(value: Any, path: str, depth: int) -> None:
    """NUL-free keys and strings, finite numbers, at most ``MAX_METADATA_DEPTH`` levels."""
    if isinstance(value, dict):
        if depth >= MAX_METADATA_DEPTH:
            raise ValueError(f"nests deeper than {MAX_METADATA_DEPTH} levels")
        for key, item in value.items():
            if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS or "\x00" in key:
                raise ValueError(f"keys must be 1 to {MAX_KEY_CHARS} characters without NUL")
            _check_json(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        if depth >= MAX_METADATA_DEPTH:
            raise ValueError(f"nests deeper than {MAX_METADATA_DEPTH} levels")
        for i, item in enumerate(value):
            _check_json(item, f"{path}[{i}]", depth + 1)
    elif isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{path}: strings must not contain NUL characters")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path}: numbers must be finite (no NaN or Infinity)")
    elif not (value is None or isinstance(value, bool | int)):
        raise ValueError(f"{path}: not a JSON value")


def check_metadata(value: dict[str, Any], *, limit: int = MAX_METADATA_BYTES) -> dict[str, Any]:
    _check_json(value, "metadata", 0)
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > limit:
        raise ValueError(f"metadata is {size} bytes; the limit is {limit}")
    return value


Metadata = Annotated[
    dict[str, Any],
    AfterValidator(check_metadata),
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": KEY_SCHEMA,
            "description": (
                f"Any JSON object: at most {MAX_METADATA_DEPTH} levels deep and "
                f"{MAX_METADATA_BYTES} bytes as JSON; keys 1 to {MAX_KEY_CHARS} characters; "
                "no NUL character in any key or string; finite numbers only."
            ),
        }
    ),
]


def check_filter_value(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and "\x00" not in value:
        return value
    if isinstance(value, int | float) and math.isfinite(value) and INT64_MIN <= value <= INT64_MAX:
        return value
    raise ValueError(
        "filter values are strings without NUL, booleans, or finite numbers "
        "within the signed 64-bit range"
    )


FILTER_VALUE_SCHEMA = {
    "anyOf": [
        {"type": "string", "pattern": NO_NUL},
        {"type": "number", "minimum": INT64_MIN, "maximum": INT64_MAX},
        {"type": "boolean"},
    ]
}
FilterValue = Annotated[
    Any, AfterValidator(check_filter_value), WithJsonSchema(FILTER_VALUE_SCHEMA)
]
MetadataFilters = Annotated[
    dict[str, FilterValue],
    AfterValidator(lambda value: _check_filter_keys(value)),
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": KEY_SCHEMA,
            "additionalProperties": FILTER_VALUE_SCHEMA,
            "description": "Metadata equality filters: top-level key -> scalar value.",
        }
    ),
]


def _check_filter_keys(value: dict[str, Any]) -> dict[str, Any]:
    for key in value:
        if not key or len(key) > MAX_KEY_CHARS or "\x00" in key:
            raise ValueError(f"filter keys must be 1 to {MAX_KEY_CHARS} characters without NUL")
    return value


_FILTERS: TypeAdapter[dict[str, Any]] = TypeAdapter(MetadataFilters)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_filters(raw: str) -> dict[str, Any]:
    """A JSON-valued query parameter of metadata filters; raises ``ValueError`` with the reason."""
    value = json.loads(raw, parse_constant=_no_constant)
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    return _FILTERS.validate_python(value)

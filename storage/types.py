"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    Integer,
    String,
    literal,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine

JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY, so big ids are plain INTEGER there.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


def utcnow() -> datetime:
    return datetime.now(UTC)


class json_scalar_equals(FunctionElement[bool]):  # noqa: N801 - used like a SQL function
    """``column[key] == value`` for a JSON object column, compared as JSON values, not by cast.

    A cast (``CAST(metadata ->> 'k' AS INTEGER)``) fails on PostgreSQL as soon as *another*
    row holds a string or a number beyond 32 bits under that key, so a filter would answer
    500 because of stored data. Instead: PostgreSQL compares ``jsonb`` values
    (``metadata -> :key = CAST(:json AS JSONB)``); SQLite looks the key up with
    ``json_each`` and compares its JSON type and SQL value. A string never equals a
    number, nor ``true`` equals ``1``, on either backend (as in the in-memory catalog).
    Arguments: the column, the key, the value as JSON text, its SQLite ``json_each.type``
    and its SQL value.
    """

    type = Boolean()
    name = "json_scalar_equals"
    inherit_cache = True

    @classmethod
    def of(cls, column: Any, key: str, value: str | int | float | bool) -> json_scalar_equals:
        sql_value: str | int | float
        sql_type: TypeEngine[Any]
        if isinstance(value, bool):
            # json_each's atom for true / false is 1 / 0
            kind, sql_value, sql_type = ("true" if value else "false"), int(value), Integer()
        elif isinstance(value, int):
            kind, sql_value, sql_type = "integer", value, BigInteger()
        elif isinstance(value, float):
            kind, sql_value, sql_type = "real", value, Float()
        else:
            kind, sql_value, sql_type = "text", value, String()
        return cls(
            column,
            literal(key, String()),
            literal(json.dumps(value), String()),
            literal(kind, String()),
            literal(sql_value, sql_type),
        )


@compiles(json_scalar_equals, "postgresql")
def _json_equals_postgresql(element: json_scalar_equals, compiler: Any, **kw: Any) -> str:
    column, key, text, _, _ = (compiler.process(c, **kw) for c in element.clauses)
    return f"(({column}) -> {key}) = CAST({text} AS JSONB)"


@compiles(json_scalar_equals)
def _json_equals_sqlite(element: json_scalar_equals, compiler: Any, **kw: Any) -> str:
    column, key, _, kind, value = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"EXISTS (SELECT 1 FROM json_each({column}) AS je "
        f"WHERE je.key = {key} AND je.type = {kind} AND je.atom = {value})"
    )

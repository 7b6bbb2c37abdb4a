"""How a LangGraph item lives in Mnemonix: pure functions, no I/O.

An item ``(namespace, key, value)`` is one memory:

- the namespace's first labels are the memory's scope, position by position through
  ``scope_fields`` (by default ``(user_id, agent_id, session_id)``: ``("ann",)`` is user
  ``ann``, ``("ann", "coach", "s1")`` is user ``ann``, agent ``coach``, session ``s1``);
- the whole namespace, the key and the value go into the memory's metadata, so ``get`` is
  exact, ``list_namespaces`` sees every namespace and a value round-trips unchanged:
  ``langgraph.namespace`` (labels joined by ``.``, which LangGraph forbids inside a label),
  ``langgraph.key``, ``langgraph.value`` (the value as JSON text), ``langgraph.store`` (the
  store's name: one tenant can hold several stores), ``langgraph.indexed`` (``False`` after
  ``put(..., index=False)``), and ``langgraph.ns.<i>`` for each label at a position that maps
  to no scope field (so a prefix of any depth is filtered by the server);
- the memory's content is the value's text: its string fields (or the ``index`` paths),
  which the fused search ranks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from langgraph.store.base import Item, MatchCondition, get_text_at_path

from mnemonix_client.models import Memory

ScopeField = Literal["user_id", "agent_id", "session_id"]
DEFAULT_SCOPE_FIELDS: tuple[ScopeField, ...] = ("user_id", "agent_id", "session_id")
MAX_CONTENT_CHARS = 32_000  # the server's limit for a memory's content

STORE = "langgraph.store"
NAMESPACE = "langgraph.namespace"
KEY = "langgraph.key"
VALUE = "langgraph.value"
INDEXED = "langgraph.indexed"
LABEL = "langgraph.ns."


class NamespaceMap:
    """Namespace labels to scope fields (by position) and metadata."""

    def __init__(self, scope_fields: Sequence[ScopeField | None]) -> None:
        named = [f for f in scope_fields if f is not None]
        if len(set(named)) != len(named) or not set(named) <= set(DEFAULT_SCOPE_FIELDS):
            raise ValueError(f"scope_fields: each of {DEFAULT_SCOPE_FIELDS} at most once, or None")
        self.scope_fields = tuple(scope_fields)

    def _field(self, position: int) -> ScopeField | None:
        return self.scope_fields[position] if position < len(self.scope_fields) else None

    def scope(self, labels: Sequence[str]) -> dict[str, str]:
        """The scope of an item stored under ``labels`` (its namespace)."""
        return {f: label for i, label in enumerate(labels) if (f := self._field(i))}

    def label_metadata(self, labels: Sequence[str]) -> dict[str, str]:
        """Metadata for the labels that map to no scope field (``"*"`` matches any)."""
        return {
            f"{LABEL}{i}": label
            for i, label in enumerate(labels)
            if self._field(i) is None and label != "*"
        }

    def prefix_filters(self, prefix: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
        """(scope, metadata equality filters) selecting every namespace starting with
        ``prefix``; a ``"*"`` label selects any label at its position."""
        scope = {f: label for f, label in self.scope(prefix).items() if label != "*"}
        return scope, self.label_metadata(prefix)


def join(namespace: Sequence[str]) -> str:
    return ".".join(namespace)


def item_metadata(
    store: str, namespace: Sequence[str], key: str, value: Mapping[str, Any], indexed: bool
) -> dict[str, Any]:
    return {
        STORE: store,
        NAMESPACE: join(namespace),
        KEY: key,
        VALUE: json.dumps(value, ensure_ascii=False, allow_nan=False),
        INDEXED: indexed,
    }


def is_item(memory: Memory, store: str) -> bool:
    """A memory this store wrote (a consolidated memory, for one, carries no key)."""
    meta = memory.metadata
    return (
        meta.get(STORE) == store
        and isinstance(meta.get(KEY), str)
        and isinstance(meta.get(NAMESPACE), str)
        and isinstance(meta.get(VALUE), str)
    )


def namespace_of(memory: Memory) -> tuple[str, ...]:
    return tuple(str(memory.metadata[NAMESPACE]).split("."))


def to_item(memory: Memory) -> Item:
    return Item(
        namespace=namespace_of(memory),
        key=str(memory.metadata[KEY]),
        value=json.loads(memory.metadata[VALUE]),
        created_at=memory.created_at,
        updated_at=memory.updated_at,
    )


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def content_of(value: Mapping[str, Any], fields: Sequence[str] | None) -> str:
    """The text the memory holds: every string in the value (``fields`` None or ``["$"]``),
    or the text at each path of ``fields`` (LangGraph's path syntax); the value's JSON when
    that text is blank. Cut at the server's content limit."""
    if fields is None or list(fields) == ["$"]:
        texts = list(_strings(value))
    else:
        texts = [text for path in fields for text in get_text_at_path(value, path)]
    content = "\n".join(t for t in texts if t.strip())
    if not content:
        content = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return content[:MAX_CONTENT_CHARS]


def matches_filter(value: Mapping[str, Any], filter: Mapping[str, Any] | None) -> bool:
    """LangGraph's filter semantics (as its in-memory store): exact match per top-level
    field, nested objects and lists compared structurally, and ``$eq $ne $gt $gte $lt
    $lte`` operators."""
    return not filter or all(_compare(value.get(k), v) for k, v in filter.items())


OPERATORS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"})


def check_filter(filter: Mapping[str, Any] | None) -> None:
    """Refuse an unknown ``$operator`` before anything is read (``ValueError``)."""
    for expected in (filter or {}).values():
        if isinstance(expected, Mapping):
            unknown = [k for k in expected if str(k).startswith("$") and k not in OPERATORS]
            if unknown:
                raise ValueError(f"Unsupported operator: {unknown[0]}")
            check_filter(expected)


def _compare(actual: Any, expected: Any) -> bool:
    if isinstance(expected, Mapping):
        if any(str(k).startswith("$") for k in expected):
            return all(_operator(actual, op, operand) for op, operand in expected.items())
        if not isinstance(actual, Mapping):
            return False
        return all(_compare(actual.get(k), v) for k, v in expected.items())
    if isinstance(expected, list | tuple):
        return (
            isinstance(actual, list | tuple)
            and len(actual) == len(expected)
            and all(_compare(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return bool(actual == expected)


def _operator(actual: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return bool(actual == operand)
    if op == "$ne":
        return bool(actual != operand)
    if op not in OPERATORS:
        raise ValueError(f"Unsupported operator: {op}")
    try:
        a, b = float(actual), float(operand)
    except (TypeError, ValueError):
        return False  # a missing or non-numeric field matches no comparison
    return {"$gt": a > b, "$gte": a >= b, "$lt": a < b, "$lte": a <= b}[op]


def namespace_matches(namespace: tuple[str, ...], condition: MatchCondition) -> bool:
    path = tuple(condition.path)
    if len(namespace) < len(path):
        return False
    if condition.match_type == "prefix":
        pairs = zip(namespace, path, strict=False)
    elif condition.match_type == "suffix":
        pairs = zip(reversed(namespace), reversed(path), strict=False)
    else:
        raise ValueError(f"Unsupported match type: {condition.match_type}")
    return all(p == "*" or n == p for n, p in pairs)

"""Secret and PII detection: every kind found where it is and named, nothing flagged in
ordinary memories (prose, hashes, UUIDs, URLs without a password)."""

from __future__ import annotations

import pytest

from service.privacy.detect import find_pii, find_secrets, redacted
from service.privacy.policy import WritePolicy
from service.privacy.screen import SecretRejected, screen
from tests.secret_samples import SAMPLES


@pytest.mark.parametrize(("kind", "template", "value"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_each_kind_is_found_and_redacted(kind: str, template: str, value: str) -> None:
    text = template.format(value)
    found = find_secrets(text)
    assert [f.kind for f in found] == [kind]
    start = text.index(value)
    assert (found[0].start, found[0].end) == (start, start + len(value))
    assert redacted(text, found) == template.format(f"[REDACTED:{kind}]")


@pytest.mark.parametrize(
    "text",
    [
        "I moved to Berlin last summer and I love the food there.",
        "The password: forgotten again, I reset it via the portal.",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b fixed the bug",
        "the run id was 550e8400-e29b-41d4-a716-446655440000",
        "see https://docs.example.com/guides/getting-started/installation-on-linux",
        "Melanie: Wow, that's amazing! Congratulations on the new job at Microsoft.",
        "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "my secret is that I never liked jazz",
    ],
)
def test_ordinary_memories_are_not_flagged(text: str) -> None:
    assert find_secrets(text) == []


def test_pii_emails_phones_and_cards_with_luhn() -> None:
    text = (
        "mail ann@example.com, call +44 20 7946 0958 or (415) 555-2671, "
        "card 4111 1111 1111 1111 but not 4111 1111 1111 1112"
    )
    assert redacted(text, find_pii(text)) == (
        "mail [REDACTED:email], call [REDACTED:phone-number] or [REDACTED:phone-number], "
        "card [REDACTED:card-number] but not 4111 1111 1111 1112"
    )
    assert find_pii("born in 1987, 12 cats, room 404") == []


def test_policy_modes_on_content_and_nested_metadata() -> None:
    value = SAMPLES[0][2]
    metadata = {"env": {"keys": ["x", f"id {value}"]}, "n": 3}
    redact = screen(WritePolicy(), content=f"key {value}", metadata=metadata)
    assert redact.content == "key [REDACTED:aws-key]"
    assert redact.metadata == {"env": {"keys": ["x", "id [REDACTED:aws-key]"]}, "n": 3}
    assert redact.kinds == ["aws-key", "aws-key"]

    allow = screen(WritePolicy(secrets="allow"), content=f"key {value}", metadata=metadata)
    assert allow.content == f"key {value}" and allow.metadata == metadata

    with pytest.raises(SecretRejected) as rejected:
        screen(WritePolicy(secrets="reject"), content="ok", metadata=metadata, where="memories.2.")
    error = rejected.value
    assert error.extra["field"] == "memories.2.metadata.env.keys.1"
    assert (error.extra["kind"], error.extra["offset"]) == ("aws-key", 3)
    assert value not in error.detail and value not in str(error.extra)

    pii = screen(WritePolicy(pii=True), content="write to ann@example.com", metadata={})
    assert pii.content == "write to [REDACTED:email]"
    assert screen(WritePolicy(), content="write to ann@example.com", metadata={}).kinds == []

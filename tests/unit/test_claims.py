"""Supersession detection rules (``lifecycle.claims``): claims read, and what outdates what.
The labelled set and its precision / recall are in ``bench/detection.py``."""

from __future__ import annotations

from lifecycle.claims import Claim, Stated, extract_claims, outdated, same_value

NAMES = {"caroline", "tom", "sarah", "melanie"}


def _claims(text: str, speaker: str = "Ann") -> list[Claim]:
    return extract_claims(text, speaker=speaker, names=NAMES)


def test_present_facts_are_read() -> None:
    assert _claims("I just moved to Berlin!") == [Claim("ann", "home", "berlin")]
    assert _claims("I started a new job at SAP.") == [Claim("ann", "workplace", "sap")]
    assert _claims("Caroline moved to Denver.") == [Claim("caroline", "home", "denver")]
    assert _claims("My sister lives in Boston.") == [Claim("ann's sister", "home", "boston")]
    assert _claims("Blue is my favourite colour.") == [Claim("ann", "favourite colour", "blue")]
    assert _claims("My phone number is +1 555 123 4567.") == [Claim("ann", "phone", "15551234567")]
    assert _claims("My email is a.b@example.com.") == [Claim("ann", "email", "a.b@example.com")]
    assert _claims("I live in Oslo.", speaker="Melanie") == [Claim("melanie", "home", "oslo")]


def test_wishes_questions_negations_and_the_past_are_not_claims() -> None:
    for text in (
        "I'd love to live in Rome.",
        "Do you live in Oslo?",
        "I don't live in Berlin anymore.",
        "I used to work at IBM.",
        "I lived in Paris for two years.",
        "I visited Paris.",
        "I joined the Yoga Club.",
        "He moved to York.",
        "Today moved to Leeds.",  # a capitalised word that is not a known name
        "I'm 5 minutes away.",
    ):
        assert _claims(text) == [], text


def _stated(memory: str, day: int, *claims: Claim) -> list[Stated]:
    return [Stated(memory=memory, order=day, claim=c) for c in claims]


def test_a_chain_supersedes_step_by_step() -> None:
    paris, berlin, rome = (Claim("ann", "home", v) for v in ("paris", "berlin", "rome"))
    found = outdated(_stated("c", 3, rome) + _stated("a", 1, paris) + _stated("b", 2, berlin))
    assert {(o.old, o.new) for o in found} == {("a", "b"), ("b", "c")}


def test_a_memory_is_outdated_only_when_all_its_claims_are() -> None:
    home, work = Claim("ann", "home", "paris"), Claim("ann", "workplace", "ibm")
    moved = Claim("ann", "home", "berlin")
    assert outdated(_stated("a", 1, home, work) + _stated("b", 2, moved)) == []
    job = Claim("ann", "workplace", "sap")
    found = outdated(_stated("a", 1, home, work) + _stated("b", 2, moved) + _stated("c", 3, job))
    assert [(o.old, o.new, o.previous.value) for o in found] == [("a", "c", "ibm")]


def test_restated_and_refined_values_are_the_same() -> None:
    assert same_value("new york", "new york city") and not same_value("york", "new york city")
    assert same_value("tom", "tom harris") and not same_value("paris", "berlin")
    nyc = Claim("ann", "home", "new york city")
    assert outdated(_stated("a", 1, Claim("ann", "home", "new york")) + _stated("b", 2, nyc)) == []

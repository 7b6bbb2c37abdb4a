"""Find credentials and personal data in text: what kind, and where (character offsets).

Credentials come from ``detect-secrets`` (Yelp), run in-process on a string: its provider
plugins' ``analyze_string`` on each line (no files, no settings, no network: its
``verify`` hooks are never called), its keyword detector for ``password=...``-style
assignments and its Shannon entropy for unlabelled tokens. Hand-written patterns only
where it has no plugin or matches too little to redact:

- ``private-key``: its plugin matches the ``BEGIN ... PRIVATE KEY`` header only; the whole
  PEM block (to its ``END`` line, or the end of the text) must go.
- ``anthropic-key``, ``google-api-key``, ``openai-key`` (``sk-proj-`` / ``sk-svcacct-`` /
  ``sk-admin-`` and 48-character legacy keys without the ``T3BlbkFJ`` marker): no plugin.
- ``npm-token``: its plugin matches ``.npmrc`` lines only.
- Keyword values are cut at the first whitespace: its config-file patterns take the rest
  of the line as the value, which in prose is the rest of the sentence.
- Unlabelled high-entropy tokens: the library's Base64 entropy (limit 4.5 bits per
  character) on unquoted runs of at least 24 characters; hex-only strings are not flagged
  (git hashes, checksums and UUIDs are common in agent memory and are not credentials).

PII (opt-in): e-mail addresses (a pattern), phone numbers (``phonenumbers``, Google's
libphonenumber port, valid numbers only) and payment card numbers (13 to 19 digits,
spaces or dashes allowed, Luhn checksum).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import phonenumbers
from detect_secrets.plugins.artifactory import ArtifactoryDetector
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import BasePlugin
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.cloudant import CloudantDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString
from detect_secrets.plugins.ibm_cloud_iam import IbmCloudIamDetector
from detect_secrets.plugins.ibm_cos_hmac import IbmCosHmacDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.keyword import (
    CONFIG_DENYLIST_REGEX_TO_GROUP,
    DENYLIST,
    QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
    KeywordDetector,
)
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.softlayer import SoftlayerDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector


@dataclass(frozen=True, slots=True)
class Finding:
    """``text[start:end]`` is a credential (or PII) of ``kind``, e.g. ``aws-key``."""

    kind: str
    start: int
    end: int


_PROVIDERS: tuple[tuple[str, BasePlugin], ...] = (
    ("aws-key", AWSKeyDetector()),
    ("artifactory-token", ArtifactoryDetector()),
    ("azure-storage-key", AzureStorageKeyDetector()),
    ("url-password", BasicAuthDetector()),
    ("cloudant-password", CloudantDetector()),
    ("discord-token", DiscordBotTokenDetector()),
    ("github-token", GitHubTokenDetector()),
    ("gitlab-token", GitLabTokenDetector()),
    ("ibm-cloud-key", IbmCloudIamDetector()),
    ("ibm-cos-key", IbmCosHmacDetector()),
    ("jwt", JwtTokenDetector()),
    ("mailchimp-key", MailchimpDetector()),
    ("npm-token", NpmDetector()),
    ("openai-key", OpenAIDetector()),
    ("pypi-token", PypiTokenDetector()),
    ("sendgrid-key", SendGridDetector()),
    ("slack-token", SlackDetector()),
    ("softlayer-key", SoftlayerDetector()),
    ("square-secret", SquareOAuthDetector()),
    ("stripe-key", StripeDetector()),
    ("telegram-token", TelegramBotTokenDetector()),
    ("twilio-key", TwilioKeyDetector()),
)
_KEYWORD = KeywordDetector()
_KEYWORD_PATTERNS = (QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP, CONFIG_DENYLIST_REGEX_TO_GROUP)
# Pre-filters, for speed only (the keyword patterns cost ~0.5 ms a line): a line without
# one of the keywords cannot match the keyword patterns, and every provider token is at
# least 11 characters without whitespace (basic auth, which may be shorter, always runs).
_HAS_KEYWORD = re.compile("|".join(DENYLIST), re.IGNORECASE)
_HAS_LONG_RUN = re.compile(r"\S{11}")
_ENTROPY = Base64HighEntropyString()
_TOKEN = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")
_OWN: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("anthropic-key", re.compile(r"sk-ant-[a-z]{3,8}\d{2}-[A-Za-z0-9_-]{20,}")),
    ("openai-key", re.compile(r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}")),
    ("openai-key", re.compile(r"(?<![A-Za-z0-9-])sk-[A-Za-z0-9]{48}(?![A-Za-z0-9])")),
    ("google-api-key", re.compile(r"AIza[0-9A-Za-z_-]{35}")),
    ("npm-token", re.compile(r"npm_[A-Za-z0-9]{36}")),
)
_PEM = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----.*?"
    r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    re.DOTALL,
)
_PUTTY = re.compile(r"PuTTY-User-Key-File-\d.*?(?:Private-MAC: \S+|\Z)", re.DOTALL)
_LINE = re.compile(r"[^\r\n]+")
_TRIM = " \t\"'`=:,;"
# a keyword value that is an ordinary word is prose ("password: forgotten"), not a secret
_WORDLIKE = re.compile(r"[A-Za-z]+[.!?]?")
# which kind wins where two findings overlap: the specific provider over the generic ones
_GENERIC = {"password": 1, "high-entropy-token": 2}

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


def _occurrences(line: str, value: str) -> Iterator[tuple[int, int]]:
    start = line.find(value)
    while start >= 0 and value:
        yield start, start + len(value)
        start = line.find(value, start + len(value))


def _line_findings(line: str) -> Iterator[Finding]:
    long_run = _HAS_LONG_RUN.search(line) is not None
    for kind, plugin in _PROVIDERS:
        if not long_run and kind != "url-password":
            continue
        for raw in set(plugin.analyze_string(line)):
            value = raw.strip(_TRIM)
            for start, end in _occurrences(line, value):
                yield Finding(kind, start, end)
    for patterns in _KEYWORD_PATTERNS if _HAS_KEYWORD.search(line) else ():
        for raw in set(_KEYWORD.analyze_string(line, denylist_regex_to_group=patterns)):
            value = raw.strip(_TRIM).split()[0] if raw.strip(_TRIM) else ""
            value = value.strip(_TRIM)
            if len(value) < 4 or _WORDLIKE.fullmatch(value):
                continue
            for start, end in _occurrences(line, value):
                yield Finding("password", start, end)
    for match in _TOKEN.finditer(line):
        token = match.group()
        if _ENTROPY.calculate_shannon_entropy(token) > _ENTROPY.entropy_limit:
            yield Finding("high-entropy-token", match.start(), match.end())


def _merged(findings: list[Finding]) -> list[Finding]:
    """Overlapping (or touching) findings become one span, named by its most specific kind
    (a JWT's signature, found apart as a high-entropy token, stays part of the JWT)."""
    out: list[Finding] = []
    for found in sorted(findings, key=lambda f: (f.start, -f.end)):
        if out and found.start <= out[-1].end:
            last = out[-1]
            kinds = sorted((last.kind, found.kind), key=lambda k: _GENERIC.get(k, 0))
            out[-1] = Finding(kinds[0], last.start, max(last.end, found.end))
        else:
            out.append(found)
    return out


def find_secrets(text: str) -> list[Finding]:
    """Credentials in ``text``, in order, non-overlapping."""
    found: list[Finding] = []
    for pattern in (_PEM, _PUTTY):
        found += [Finding("private-key", m.start(), m.end()) for m in pattern.finditer(text)]
    for kind, pattern in _OWN:
        found += [Finding(kind, m.start(), m.end()) for m in pattern.finditer(text)]
    for match in _LINE.finditer(text):
        offset = match.start()
        found += [
            Finding(f.kind, f.start + offset, f.end + offset) for f in _line_findings(match.group())
        ]
    return _merged(found)


def _luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def find_pii(text: str, *, phone_region: str | None = "US") -> list[Finding]:
    """E-mail addresses, phone numbers and payment card numbers in ``text``."""
    found = [Finding("email", m.start(), m.end()) for m in _EMAIL.finditer(text)]
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and _luhn(digits):
            found.append(Finding("card-number", match.start(), match.end()))
    for number in phonenumbers.PhoneNumberMatcher(
        text, phone_region, leniency=phonenumbers.Leniency.VALID
    ):
        found.append(Finding("phone-number", number.start, number.end))
    return _merged(found)


def redacted(text: str, findings: list[Finding]) -> str:
    """``text`` with every finding replaced by ``[REDACTED:<kind>]``."""
    parts: list[str] = []
    at = 0
    for found in findings:
        parts.append(text[at : found.start])
        parts.append(f"[REDACTED:{found.kind}]")
        at = found.end
    parts.append(text[at:])
    return "".join(parts)

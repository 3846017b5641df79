"""Classify credentials by prefix, the first line of the mode guard.

Only the prefix is ever inspected or reported; the rest of a credential never leaves the
value it came in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

Mode = Literal["test", "live"]
MODES: tuple[Mode, ...] = ("test", "live")

KeyKind = Literal["secret", "restricted", "publishable", "webhook_secret", "licenzy_api_key"]


@dataclass(frozen=True)
class KeyClass:
    kind: KeyKind
    mode: Mode | None
    prefix: str

    @property
    def label(self) -> str:
        return _LABELS[self.kind]


_LABELS: dict[KeyKind, str] = {
    "secret": "secret key",
    "restricted": "restricted key",
    "publishable": "publishable key",
    "webhook_secret": "webhook signing secret",
    "licenzy_api_key": "Licenzy API key",
}


_PREFIXES: tuple[tuple[str, KeyKind, Mode | None], ...] = (
    ("sk_test_", "secret", "test"),
    ("sk_live_", "secret", "live"),
    ("rk_test_", "restricted", "test"),
    ("rk_live_", "restricted", "live"),
    ("pk_test_", "publishable", "test"),
    ("pk_live_", "publishable", "live"),
    ("lz_test_", "licenzy_api_key", "test"),
    ("lz_live_", "licenzy_api_key", "live"),
    ("whsec_", "webhook_secret", None),
)


def classify(value: str) -> KeyClass | None:
    """Return the kind and mode a credential's prefix declares, or None if it has none we know.

    Length is deliberately not checked: Stripe changes key lengths without notice.
    """
    for prefix, kind, mode in _PREFIXES:
        if value.startswith(prefix) and len(value) > len(prefix):
            return KeyClass(kind, mode, prefix)
    return None


def is_server_key(value: str) -> bool:
    """True for Stripe keys a server may call the API with (secret or restricted)."""
    found = classify(value)
    return found is not None and found.kind in ("secret", "restricted")


_ALWAYS_SECRET = ("sk_", "rk_", "whsec_", "lzp_")


_ANY_PREFIX = tuple({prefix for prefix, _, _ in _PREFIXES} | set(_ALWAYS_SECRET))


def looks_like_secret(value: str) -> bool:
    """True when a string is shaped like any credential that must never be written literally."""
    if not value.startswith(_ANY_PREFIX):
        return False  # most strings: one test instead of one per prefix
    return classify(value) is not None or value.startswith(_ALWAYS_SECRET)


def secret_pattern() -> str:
    """`looks_like_secret` as a regular expression, for the JSON Schema editors check with."""
    known = [re.escape(prefix) + "." for prefix, _, _ in _PREFIXES]
    return "^(?:" + "|".join([*map(re.escape, _ALWAYS_SECRET), *known]) + ")"


_WORD = re.compile(r"[A-Za-z0-9_]+")

SHAPED_BODY = 8
"""Characters after the prefix that make a word in free text a credential: placeholders such as
``sk_test_...`` in a comment have none, real keys have dozens."""


def without_secret_words(text: str) -> str:
    """``text`` with every credential-shaped word replaced, for messages that quote the file."""
    return _WORD.sub(
        lambda word: "[secret]" if looks_like_secret(word.group()) else word.group(), text
    )


_PREFIXED_WORD = re.compile(
    "(?<![A-Za-z0-9_])(?:"
    + "|".join(map(re.escape, sorted(_ANY_PREFIX)))
    + ")[A-Za-z0-9_]*"
)
"""The words `_WORD` finds that start with a credential prefix: a file of thousands of
products has hundreds of thousands of words, and only these can be shaped like a secret."""


_ROOTS = tuple(
    sorted(
        prefix
        for prefix in _ANY_PREFIX
        if not any(other != prefix and prefix.startswith(other) for other in _ANY_PREFIX)
    )
)
"""The prefixes that start with no shorter one: a text holds a credential prefix exactly when
it holds one of these."""


def holds_a_prefix(text: str) -> bool:
    """Whether any credential prefix is written in ``text``, where `secret_shaped_words`
    could find one. A substring search per prefix takes a millisecond over a catalog of
    thousands of products, `secret_shaped_words` thirty, and such a file nearly never holds
    one."""
    return any(root in text for root in _ROOTS)


def secret_shaped_words(text: str) -> Iterator[re.Match[str]]:
    """Words of free text (a whole file, comments included) shaped like a credential."""
    for word in _PREFIXED_WORD.finditer(text):
        value = word.group()
        if not looks_like_secret(value):
            continue
        found = classify(value)
        prefix = found.prefix if found else value[: value.index("_") + 1]
        if len(value) - len(prefix) >= SHAPED_BODY:
            yield word

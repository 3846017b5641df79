"""The last check before a plan leaves the process or drives writes: no credential in it.

A plan is written to files and PR comments, so this is the last point where a planner bug can
be stopped; a plan file read back is screened the same way before it is applied.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.keys import looks_like_secret
from licenzy_sync.plan.model import Observed, Plan
from licenzy_sync.redact import redact


def ensure_secret_free(plan: Plan, doing: str, *, written: str | None = None) -> None:
    """Refuse a plan that carries a credential, naming where it is but never what it is.

    Values of resources are checked for credential-shaped strings; every string of the plan is
    checked against the secrets this process has resolved (the redaction registry). ``doing``
    completes "refusing to ...", e.g. ``"write the plan"``.

    A plan of thousands of resources holds tens of thousands of strings, too many to check
    one by one on every render: the checked strings are serialised once and screened in a
    single pass, and only a plan the screen cannot clear is walked string by string, which
    decides and names the place. ``written`` is the plan's JSON text when the caller has just
    written it: it holds every checked string, so it is screened instead of a second one.
    """
    if _text_clean(written) if written is not None else _screened_clean(plan):
        return
    for resource in plan.resources:
        where = resource.address
        _check_strings(resource.name, f"{where}: name", doing, shaped=True)
        _check_strings(resource.reason, f"{where}: reason", doing, shaped=False)
        _check_strings(resource.before, f"{where}: before", doing, shaped=True)
        _check_strings(resource.after, f"{where}: after", doing, shaped=True)
        for change in resource.changes:
            _check_strings(change.before, f"{where}: {change.field} before", doing, shaped=True)
            _check_strings(change.after, f"{where}: {change.field} after", doing, shaped=True)
    for finding in plan.findings:
        _check_strings(
            [finding.message, finding.hint, finding.field, finding.address],
            f"finding {finding.rule_id}",
            doing,
            shaped=False,
        )
    _check_strings(
        [plan.project, plan.config_file, *plan.fingerprints, *plan.fingerprints.values()],
        "plan",
        doing,
        shaped=False,
    )


_SHAPED_START = re.compile(r'"(?:sk|rk|pk|lzp?|whsec)_')
"""A JSON string (value or key) starting with any prefix `looks_like_secret` knows, and with
some that it does not (``pk_`` or ``lz_`` alone): the screen may send a clean plan to the
walk, never wave a dirty one through. Letters and ``_`` are never escaped, so prefixes show."""
_JSON_ESCAPE = re.compile(r'\\(?:u[0-9a-fA-F]{4}|.)')


def _screened_clean(plan: Plan) -> bool:
    """True when no string `ensure_secret_free` checks can fail it; False when unsure.

    The strings checked for credential shapes and the others are serialised separately by
    the C encoder, exactly the values the walk visits (keys included). Registered secrets are
    looked for in both texts with JSON's escapes undone, so each string appears verbatim.
    Values without a JSON form (sets, tuple keys: a planner bug) are left to the walk. An
    after that is its before (a no-op's) is serialised once.
    """
    shaped = [
        [
            r.name,
            r.before,
            None if r.after is r.before else r.after,
            [[c.before, c.after] for c in r.changes],
        ]
        for r in plan.resources
    ]
    other = [
        [r.reason for r in plan.resources],
        [[f.message, f.hint, f.field, f.address] for f in plan.findings],
        [plan.project, plan.config_file, _screened_fingerprints(plan.fingerprints)],
    ]
    try:
        shaped_text = json.dumps(shaped, ensure_ascii=False)
        other_text = json.dumps(other, ensure_ascii=False)
    except (TypeError, ValueError):
        return False
    return _text_clean(shaped_text, other_text)


def _screened_fingerprints(fingerprints: Mapping[str, str]) -> object:
    """The addresses alone of fingerprints this process computes: each is a digest of what it
    read, hex digits holding no text of theirs, and computing them all only to screen them
    would cost a text plan what it saves by never needing them (`Observed`). A plan read
    from a file holds them as written: screened whole."""
    if isinstance(fingerprints, Observed):
        return list(fingerprints)
    return fingerprints


def _text_clean(shaped_text: str, *other_texts: str) -> bool:
    """No string of ``shaped_text`` starts like a credential, and no JSON text holds a
    registered secret. Strings screened for shapes that the walk does not screen for them can
    only send a clean plan to the walk."""
    if _SHAPED_START.search(shaped_text):
        return False
    for text in (shaped_text, *other_texts):
        verbatim = _unescaped(text)
        if redact(verbatim) != verbatim:
            return False
    return True


def _unescaped(text: str) -> str:
    """JSON text with every string escape replaced by the character it stands for."""
    if "\\" not in text:
        return text
    return _JSON_ESCAPE.sub(lambda escape: str(json.loads(f'"{escape.group(0)}"')), text)


def _check_strings(value: Any, where: str, doing: str, *, shaped: bool) -> None:
    if isinstance(value, str):
        if redact(value) != value or (shaped and looks_like_secret(value)):
            raise LicenzySyncError(
                f"refusing to {doing}: {where} holds a secret or credential-shaped value "
                "(secret values never belong in a plan, not even masked)"
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, where, doing, shaped=shaped)
            _check_strings(item, f"{where}.{key}", doing, shaped=shaped)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_strings(item, where, doing, shaped=shaped)

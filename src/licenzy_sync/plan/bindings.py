"""Saved plans bind the secrets they will write, without holding them.

A reviewer approves a plan that stores ``${STRIPE_LIVE_WEBHOOK_SECRET}`` in Licenzy; by the time
`apply plan.json` runs, the variable may hold another value that nobody reviewed. The plan
therefore carries, per variable it will write, a random salt and the HMAC-SHA256 of the value
under that salt. The salt makes the digest useless for comparing values across plans or
against a list of guesses; the value itself never reaches the file.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable, Iterable

from licenzy_sync.config.models import SECRET_REF
from licenzy_sync.config.secrets import Secret, lookup
from licenzy_sync.plan.model import ResourceChange, SecretBinding

SALT_BYTES = 16
HEX_SALT = re.compile(rf"^[0-9a-f]{{{2 * SALT_BYTES}}}$")
HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def bind(secret: Secret) -> SecretBinding:
    salt = secrets.token_hex(SALT_BYTES)
    return SecretBinding(salt, secret.digest(bytes.fromhex(salt)))


def still_bound(binding: SecretBinding, secret: Secret | None) -> bool:
    """Whether the variable holds the value the plan was made with (compared in constant time)."""
    if secret is None:
        return False
    return hmac.compare_digest(binding.hmac_sha256, secret.digest(bytes.fromhex(binding.salt)))


KEPT_SECRET = "signing_secret"
"""In an adopted endpoint's ``after``: the configured secret (``${NAME}``) it keeps."""
SECRET_FIELDS = ("source", KEPT_SECRET)
"""The fields of a change's ``after`` that may name a configured secret (``${NAME}``) apply
uses: the webhook secret Licenzy stores, and the secret an adopted endpoint keeps (apply stamps
its last four characters on the endpoint)."""


def written_variables(resources: Iterable[ResourceChange]) -> list[str]:
    """Variables whose value applying these resources uses in a write (a webhook secret
    sourced from ``${NAME}``, an adopted endpoint's secret), sorted."""
    names = set()
    for resource in resources:
        for field_name in SECRET_FIELDS:
            value = (resource.after or {}).get(field_name)
            found = SECRET_REF.match(value) if isinstance(value, str) else None
            if resource.action != "no-op" and found is not None:
                names.add(found.group(1))
    return sorted(names)


def unbound_variables(
    resources: Iterable[ResourceChange],
    bindings: dict[str, SecretBinding],
    resolve: Callable[[str], Secret | None] = lambda name: lookup(f"${{{name}}}"),
) -> list[tuple[str, str]]:
    """(variable, what is wrong) for every secret the plan would write that it does not bind to
    the value the environment holds now."""
    problems = []
    for name in written_variables(resources):
        binding = bindings.get(name)
        if binding is None:
            problems.append((name, "the plan does not bind its value (made by an older version?)"))
            continue
        current = resolve(name)
        if current is None:
            problems.append((name, "is not set now"))
        elif not still_bound(binding, current):
            problems.append((name, "holds a different value than when the plan was made"))
    return problems

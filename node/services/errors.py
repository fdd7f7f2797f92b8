"""Errors services raise; the web layer maps each to a status and ``{"error", "detail"}``.

Every error carries a stable ``reason`` code. ``status`` is the HTTP status the JSON API uses.
"""

from __future__ import annotations

from dataclasses import dataclass


class ServiceError(Exception):
    status = 400
    default_reason = "bad_request"

    def __init__(self, reason: str | None = None, detail: str = "", *, field: str | None = None
                 ) -> None:
        self.reason = reason or self.default_reason
        self.detail = detail or self.reason.replace("_", " ")
        self.field = field
        super().__init__(f"{self.reason}: {self.detail}")


class BadRequestError(ServiceError):
    """The request body is not parseable at all (not JSON, wrong top-level type)."""

    status = 400
    default_reason = "bad_json"


@dataclass(frozen=True)
class FieldError:
    """One bad field: a stable reason, the field (``place.latitude``), a sentence naming it."""

    reason: str
    field: str
    detail: str


class ValidationError(ServiceError):
    """Parseable input with a field that is missing, unknown, of the wrong type or value.

    ``reason``, ``detail`` and ``field`` name the first problem (the API's 422 body); ``errors``
    lists every one found, for forms that mark each field.
    """

    status = 422
    default_reason = "invalid"

    def __init__(self, reason: str | None = None, detail: str = "", *, field: str | None = None,
                 errors: list[FieldError] | None = None) -> None:
        super().__init__(reason, detail, field=field)
        self.errors = errors if errors is not None else [
            FieldError(self.reason, field or "", self.detail)]


class TooLargeError(ServiceError):
    status = 413
    default_reason = "too_large"


class AuthenticationError(ServiceError):
    status = 401
    default_reason = "unauthenticated"


class PermissionDeniedError(ServiceError):
    status = 403
    default_reason = "forbidden"


class NotFoundError(ServiceError):
    status = 404
    default_reason = "not_found"


class ConflictError(ServiceError):
    status = 409
    default_reason = "conflict"


class GoneError(ServiceError):
    status = 410
    default_reason = "gone"


class RejectedError(Exception):
    """A received activity or object is well-formed but not acceptable (origin, authorship,
    proof, federation policy); the worker marks it failed and never retries it."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}")

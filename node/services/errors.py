"""Errors services raise; the web layer maps each to a status and ``{"error", "detail"}``.

Every error carries a stable ``reason`` code. ``status`` is the HTTP status the JSON API uses.
"""

from __future__ import annotations


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


class ValidationError(ServiceError):
    """Parseable input with a field that is missing, unknown, of the wrong type or value."""

    status = 422
    default_reason = "invalid"


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

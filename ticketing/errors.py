"""Named refusals raised by the service layer; every adapter maps them to its medium."""


class DomainError(Exception):
    """A refusal with a stable code, a message for people and an HTTP status."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(DomainError):
    """Absent, or not visible to the actor: the same answer for both."""

    code, status = "not_found", 404


class PermissionDenied(DomainError):
    code, status = "forbidden", 403


class ValidationFailed(DomainError):
    """One message per offending field; nothing was saved."""

    code, status = "invalid", 422


class GuardFailed(DomainError):
    """A transition's guard does not hold; `guard` names it."""

    code, status = "guard_failed", 409

    def __init__(self, message: str, *, guard: str):
        super().__init__(message)
        self.guard = guard


class StaleVersion(DomainError):
    code, status = "stale_version", 409


class Conflict(DomainError):
    code, status = "conflict", 409


class TooLarge(DomainError):
    code, status = "too_large", 413

"""The one error type services raise, and the codes every app shares.

Views and the API turn an ApplicationError into a message or a JSON error. Codes that only one
app raises (`last_owner`, `plan_name_taken` ...) stay beside that app's services.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, NoReturn, overload

from django.core.exceptions import PermissionDenied, ValidationError

# Codes the whole API shares, as constants that services and tests import.
INVALID = "invalid"
NOT_FOUND = "not_found"
PERMISSION_DENIED = "permission_denied"
MISSING_SCOPE = "missing_scope"
TENANT_SUSPENDED = "tenant_suspended"
NAME_TAKEN = "name_taken"
CONFLICT = "conflict"

DENIED_MESSAGE = "You do not have permission to do that."
SUSPENDED_MESSAGE = "This tenant is suspended and read-only until an operator reactivates it."


class ApplicationError(Exception):
    """A refusal a user can act on: a stable machine-readable code and a human message. A refusal of
    invalid input may name several fields (`errors`, field -> messages); `field` and `message` are the
    first of them."""

    def __init__(
        self,
        message: str,
        *,
        code: str = INVALID,
        status: int = 400,
        field: str | None = None,
        errors: dict[str, list[str]] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.field = field
        self.errors = errors or ({field: [message]} if field else {})

    @classmethod
    def invalid(cls, errors: dict[str, list[str]]) -> ApplicationError:
        """One refusal naming every invalid field ("__all__" for what belongs to none)."""
        field, messages = next(iter(errors.items()))
        return cls(messages[0], field=None if field == "__all__" else field, errors=errors)


class FieldErrors:
    """Collects the refusals of several checks so that every invalid field is reported at once:

        problems = FieldErrors()
        with problems.check():
            cpu_millicores(cpu, "cpu_request")
        with problems.check():
            memory_bytes(memory, "memory_request")
        problems.raise_any()

    Only refusals of invalid input that name a field are collected; any other error passes through."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def __contains__(self, field: str) -> bool:
        return field in self.errors

    @contextmanager
    def check(self) -> Iterator[None]:
        try:
            yield
        except ApplicationError as exc:
            if exc.code != INVALID or exc.status != 400 or not exc.errors:
                raise
            for field, messages in exc.errors.items():
                self.errors.setdefault(field, []).extend(messages)

    def raise_any(self) -> None:
        if self.errors:
            raise ApplicationError.invalid(self.errors)


class Refusal(PermissionDenied):
    """A page refused inside the user's own tenant, for a reason they can act on: the 403 page (or its
    JSON under Accept: application/json) shows `detail`, with `extra` (the role needed) in the JSON.
    Another tenant's object is never refused this way: it stays a 404."""

    def __init__(self, detail: str, *, code: str = PERMISSION_DENIED, **extra: str):
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.extra = extra


def denied(message: str = DENIED_MESSAGE) -> ApplicationError:
    """The 403 for an action the policy does not allow."""
    return ApplicationError(message, code=PERMISSION_DENIED, status=403)


@overload
def require(allowed: Literal[False], message: str | None = None, *, tenant: Any = None) -> NoReturn: ...


@overload
def require(allowed: bool, message: str | None = None, *, tenant: Any = None) -> None: ...


def require(allowed: bool, message: str | None = None, *, tenant: Any = None) -> None:
    """Refuse with 403 unless `allowed`; a suspended tenant gets its own reason, since nobody may write there."""
    if allowed:
        return
    if tenant is not None and not tenant.is_active:
        raise ApplicationError(SUSPENDED_MESSAGE, code=TENANT_SUSPENDED, status=403)
    raise denied(message) if message else denied()


def validate_model(instance: Any, *, exclude: list[str] | None = None) -> None:
    """Model validation (fields and clean(), not uniqueness) as an ApplicationError naming every
    failing field; uniqueness is left to the caller, which knows the right code for it."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise ApplicationError.invalid(exc.message_dict) from exc


def missing_scope(resource: str, verb: str) -> dict:
    """The API's refusal body for an API key without the scope a call needs."""
    return {"code": MISSING_SCOPE, "detail": f"This API key lacks the {resource}:{verb} scope."}

"""The policy registry: one policy class per model says who may do what.

Every read of tenant data goes through `Model.objects.restrict(principal, action)`, which asks the
model's registered policy to narrow the queryset. Object-level questions ("may this principal
change this row?") are answered by the same policy's `can_<verb>` methods, so the rule for a model
lives in exactly one place.
"""

from __future__ import annotations

from typing import Any

from django.db import models

_REGISTRY: dict[type[models.Model], Policy] = {}


class Policy:
    """Base class. Subclasses implement `scope` and the `can_<verb>` methods they need."""

    model: type[models.Model]

    def scope(self, queryset: models.QuerySet, principal, action: str) -> models.QuerySet:
        """Return the rows of `queryset` that `principal` may `action`; none unless a subclass says so."""
        return queryset.none()

    def can(self, principal, action: str, obj) -> bool:
        """Ask `can_<action>(principal, obj)`; an action without a method is refused."""
        check = getattr(self, f"can_{action}", None)
        return bool(check and check(principal, obj))


def register(model: type[models.Model]):
    """Class decorator: `@register(Environment) class EnvironmentPolicy(TenantPolicy): ...`."""

    def decorator(policy_class: type[Policy]) -> type[Policy]:
        policy_class.model = model
        _REGISTRY[model] = policy_class()
        return policy_class

    return decorator


def policy_for(model: type[models.Model]) -> Any:
    """The model's policy; typed Any because each policy adds its own can_<verb> methods."""
    try:
        return _REGISTRY[model]
    except KeyError:
        raise LookupError(f"No policy registered for {model.__name__}") from None


def registered_models() -> list[type[models.Model]]:
    return list(_REGISTRY)


class RestrictedQuerySet(models.QuerySet):
    """A queryset that can only be narrowed to what a principal may see or do."""

    def restrict(self, principal, action: str = "view") -> RestrictedQuerySet:
        return policy_for(self.model).scope(self, principal, action)

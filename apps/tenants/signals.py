"""Signals the tenants app sends so that apps above it can react without tenants importing them."""

from django.dispatch import Signal

# Sent inside the creating transaction with `environment`; receivers defer work with on_commit.
environment_created = Signal()
# Sent when a quota of `tenant` (and `environment`, or None for tenant-wide) changed.
quota_changed = Signal()

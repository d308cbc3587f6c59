"""Signals the apikeys app sends, so that apps above it (webhooks) can react without being imported here."""

from django.dispatch import Signal

# Sent once per tenant, period and threshold when API usage crosses API_QUOTA_WARNING_PERCENT or 100 %
# of a daily or monthly quota, with `notice` (a QuotaNotice). Receivers defer slow work to Celery.
quota_warning = Signal()

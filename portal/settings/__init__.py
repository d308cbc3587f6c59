"""Settings are split by environment: base, local, test and production.

DJANGO_SETTINGS_MODULE picks one; manage.py defaults to local.
"""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users (email login), allauth adapters, MFA and the user's own account pages."""

    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Users"

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users (email login), allauth adapters, MFA and the user's own account pages."""

    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Users"

    def ready(self):
        from apps.core import crypto

        from .adapters import rotate_mfa_secrets

        crypto.register_rotation("MFA secrets", rotate_mfa_secrets)

"""The portal's user model."""

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q

from apps.core import crypto


class UserManager(BaseUserManager):
    """Creates users keyed by email; there is no username."""

    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields):
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **fields)


class User(AbstractUser):
    """A person who signs in with an email address.

    Staff users (`is_staff`) are platform operators: they reach the operator console and admin.
    Email addresses are stored lower-case and are unique.
    """

    username = None
    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email.split("@")[0]


class SingleSignOn(models.Model):
    """The identity provider operators configure in the console (one row). Settings from the environment
    (SSO_SERVER_URL and friends) take precedence over it; see apps/accounts/idp.py."""

    ROW = 1

    enabled = models.BooleanField(default=False)
    name = models.CharField(max_length=80, default="Single sign-on")
    server_url = models.URLField(max_length=300, blank=True)
    client_id = models.CharField(max_length=200, blank=True)
    client_secret_encrypted = crypto.EncryptedTextField(blank=True, editable=False)
    groups_claim = models.CharField(max_length=100, default="groups")
    group_roles = models.TextField(max_length=10000, blank=True)
    only_domains = models.TextField(max_length=2000, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="single_sign_on_one_row")]

    def __str__(self) -> str:
        return self.name

    @property
    def client_secret(self) -> str:
        return crypto.decrypt(self.client_secret_encrypted) if self.client_secret_encrypted else ""

    @client_secret.setter
    def client_secret(self, value: str) -> None:
        self.client_secret_encrypted = crypto.encrypt(value) if value else ""

"""factory_boy factories for every model the tests create."""

import secrets
from datetime import timedelta

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.apikeys import keys
from apps.apikeys.models import APIKey
from apps.tenants.models import Environment, Invitation, Membership, Quota, Tenant, namespace_for
from apps.tenants.roles import Role

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    """A user with a verified primary email who can sign in with PASSWORD."""

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified_email(self, create, extracted, **kwargs):
        if create:
            self.save()
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)


# --- Tenancy -----------------------------------------------------------------------------------


class TenantFactory(factory.django.DjangoModelFactory):
    """An active tenant with no members; add them with MembershipFactory."""

    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.DEVELOPER


class EnvironmentFactory(factory.django.DjangoModelFactory):
    """An environment whose namespace is derived as the service derives it."""

    class Meta:
        model = Environment

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"env-{n}")
    kind = Environment.Kind.NON_PRODUCTION
    namespace = factory.LazyAttribute(lambda o: namespace_for(o.tenant.slug, o.name))


class InvitationFactory(factory.django.DjangoModelFactory):
    """An open invitation; pass `token=` to know the link, since only its hash is stored."""

    class Meta:
        model = Invitation
        exclude = ("token",)

    tenant = factory.SubFactory(TenantFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.DEVELOPER
    token = factory.LazyFunction(lambda: secrets.token_urlsafe(32))
    token_hash = factory.LazyAttribute(lambda o: Invitation.hash_token(o.token))
    invited_by = factory.SubFactory(UserFactory)
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class QuotaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Quota

    tenant = factory.SubFactory(TenantFactory)
    environment = None
    resource = Quota.Resource.API_KEYS
    limit = 10


class APIKeyFactory(factory.django.DjangoModelFactory):
    """A key stored as the service stores it; pass `plaintext=` to know the full key."""

    class Meta:
        model = APIKey
        exclude = ("plaintext",)

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"key {n}")
    plaintext = factory.LazyFunction(lambda: keys.generate()[1])
    lookup = factory.LazyAttribute(lambda o: keys.parse(o.plaintext))
    digest = factory.LazyAttribute(lambda o: keys.digest(o.plaintext))
    scopes = factory.LazyFunction(lambda: ["apps:read"])
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=90))

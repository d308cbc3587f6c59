from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.numbers import digits
from apps.tenants.models import Environment, Invitation, Membership, Quota, Tenant
from apps.tenants.roles import Role
from apps.tenants.selectors import referable

_slugs: dict[int, str] = {}


def tenant_slug(tenant_id: int) -> str:
    """A tenant's slug by id, remembered by the process: slugs never change and ids are never reused."""
    if tenant_id not in _slugs:
        _slugs[tenant_id] = Tenant.objects.values_list("slug", flat=True).get(pk=tenant_id)
    return _slugs[tenant_id]


@extend_schema_field(OpenApiTypes.STR)
class TenantField(serializers.SlugRelatedField):
    """A tenant given by slug, chosen only among the caller's tenants: a foreign one reads as unknown."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", **kwargs)

    def get_queryset(self):
        return Tenant.objects.restrict(self.context["request"], "reference")

    def get_attribute(self, instance):
        # The id is enough to show the slug (below): lists need no join with tenants for it.
        tenant_id = getattr(instance, "tenant_id", None)
        return tenant_id if tenant_id is not None else super().get_attribute(instance)

    def to_representation(self, value):
        return tenant_slug(value) if isinstance(value, int) else super().to_representation(value)

    def to_internal_value(self, data):
        # PostgreSQL refuses NUL in text (a 500); no slug has one, so it names no tenant.
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", ""))
        return super().to_internal_value(data)


ID_OR_NAME = {"oneOf": [{"type": "integer", "minimum": 1, "maximum": 2**63 - 1}, {"type": "string", "minLength": 1}]}


def _has_nul(value) -> bool:
    # PostgreSQL refuses NUL in text (a 500); no name has one, so such a value names nothing.
    return isinstance(value, str) and "\x00" in value


@extend_schema_field(ID_OR_NAME)
class IdOrNameField(serializers.Field):
    """An id (a number) or a name (text) the view looks up itself, where another tenant's row must be
    a 404 like a missing one."""

    default_error_messages = {"incorrect_type": "An id (a number) or a name (text)."}

    def to_internal_value(self, data):
        if isinstance(data, int) and not isinstance(data, bool) and 0 < data < 2**63:
            return data
        if isinstance(data, str) and data and not _has_nul(data):
            return data
        self.fail("incorrect_type")

    def to_representation(self, value):
        return value


@extend_schema_field(ID_OR_NAME)
class NamedField(serializers.RelatedField):
    """A row of the caller's tenants by id (a number) or by name (text); another tenant's row reads
    exactly as a missing one. A name is looked up in the request's `tenant` (or the tenant the view
    puts in the context, as promote does); without one, among the caller's tenants, where it must be
    unique. Text of digits that names nothing is taken as an id, as before names were accepted."""

    default_error_messages = {
        "missing": "No {model} {value}{where}.",
        "ambiguous": "More than one of your tenants has {model} “{value}”: give the tenant too.",
        "incorrect_type": "An id (a number) or a name (text).",
    }

    def __init__(self, model, **kwargs):
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self):
        return referable(self.model, self.context["request"])

    def to_representation(self, value):
        return value.pk

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str) or data == "":
            self.fail("incorrect_type")
        rows, where = self.scoped(self.get_queryset())
        if isinstance(data, str) and not _has_nul(data):
            named = list(self.by_name(rows, data)[:2])
            if len(named) > 1:
                self.fail("ambiguous", model=self.noun, value=data)
            if named:
                return named[0]
        return self.by_id(rows, data, where)

    @property
    def noun(self) -> str:
        return str(self.model._meta.verbose_name)

    def scoped(self, rows):
        """The rows of the request's tenant when it names one, and words saying which tenant."""
        tenant = self.context.get("tenant")
        if tenant is not None:
            return rows.filter(tenant=tenant), f" in {tenant.slug}"
        slug = self.sibling_input("tenant")
        if isinstance(slug, str) and slug and not _has_nul(slug):
            return rows.filter(tenant__slug=slug), f" in {slug}"
        return rows, ""

    def sibling_input(self, name):
        """What the request sent for another field of the same body (None when absent)."""
        initial = getattr(self.parent, "initial_data", None)
        return initial.get(name) if initial is not None and hasattr(initial, "get") else None

    def by_name(self, rows, name: str):
        return rows.filter(name=name)

    def by_id(self, rows, data, where: str):
        if isinstance(data, int) or digits(data):
            pk = int(data)
            row = rows.filter(pk=pk).first() if 0 < pk < 2**63 else None
            if row is not None:
                return row
            self.fail("missing", model=self.noun, value=f"with id {pk}", where="")
        self.fail("missing", model=self.noun, value=f"named “{data.replace(chr(0), '')}”", where=where)


class TenantSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = ["id", "slug", "name", "status", "role", "created_at"]
        read_only_fields = ["id", "status", "role", "created_at"]
        extra_kwargs: dict[str, dict] = {"slug": {"validators": []}}

    def get_role(self, tenant) -> str | None:
        from apps.tenants.principals import as_principal

        return as_principal(self.context["request"]).role_in(tenant.pk)


class TenantUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class MembershipSerializer(serializers.ModelSerializer):
    tenant: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    full_name = serializers.CharField(source="user.full_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "tenant", "email", "full_name", "role", "created_at"]
        read_only_fields = ["id", "tenant", "email", "full_name", "created_at"]


class InvitationSerializer(serializers.ModelSerializer):
    tenant = TenantField()
    invited_by = serializers.EmailField(source="invited_by.email", read_only=True)
    state = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = ["id", "tenant", "email", "role", "invited_by", "state", "created_at", "expires_at", "accepted_at"]
        read_only_fields = ["id", "invited_by", "state", "created_at", "expires_at", "accepted_at"]
        extra_kwargs: dict[str, dict] = {"email": {"validators": []}}
        validators: list = []

    def get_state(self, invitation) -> str:
        from django.utils import timezone

        if invitation.accepted_at:
            return "accepted"
        if invitation.revoked_at:
            return "revoked"
        return "expired" if invitation.expires_at <= timezone.now() else "open"


class InvitationAcceptSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=100)


class EnvironmentSerializer(serializers.ModelSerializer):
    tenant = TenantField()

    class Meta:
        model = Environment
        fields = ["id", "tenant", "name", "kind", "namespace", "created_at"]
        read_only_fields = ["id", "namespace", "created_at"]
        validators: list = []  # uniqueness is the service's to judge, with its own error code


class EnvironmentUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=30, required=False)
    kind = serializers.ChoiceField(choices=Environment.Kind.choices, required=False)


class QuotaSerializer(serializers.ModelSerializer):
    tenant: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    environment: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Quota
        fields = ["id", "tenant", "environment", "resource", "limit", "updated_at"]
        read_only_fields = fields


class QuotaIncreaseSerializer(serializers.Serializer):
    """Ask the platform for a higher limit: a change request that operators decide on."""

    tenant = TenantField()
    resource = serializers.ChoiceField(choices=Quota.Resource.choices)
    environment = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="An environment name; empty for the whole tenant."
    )
    limit = serializers.IntegerField(min_value=0)
    justification = serializers.CharField(max_length=2000)


class ChangeRequestRefSerializer(serializers.Serializer):
    """The change request a governed change opened."""

    change_request = serializers.IntegerField()
    state = serializers.CharField()
    title = serializers.CharField()


class QuotaUsageSerializer(serializers.Serializer):
    """One line of a tenant's usage report; `used` is null for resources nothing counts yet."""

    resource = serializers.CharField(source="quota.resource")
    environment = serializers.CharField(
        source="quota.environment.name",
        default=None,
        allow_null=True,
        help_text="The environment's name; null for a tenant-wide quota.",
    )
    limit = serializers.IntegerField(source="quota.limit")
    used = serializers.IntegerField(allow_null=True)
    remaining = serializers.IntegerField(allow_null=True)


class BacklogSerializer(serializers.Serializer):
    """One kind of a tenant's background work: at most `limit` run at once, the rest wait their turn."""

    kind = serializers.CharField(help_text="deployments or builds")
    limit = serializers.IntegerField(help_text="How many run at once.")
    running = serializers.IntegerField(help_text="How many are being worked on now.")
    waiting = serializers.IntegerField(help_text="How many wait for a turn.")
    waiting_since = serializers.DateTimeField(allow_null=True, help_text="When the oldest waiting one was queued.")


class RoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)

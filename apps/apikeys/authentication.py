"""DRF authentication with `Authorization: Bearer pk_<lookup>_<secret>`."""

import ipaddress
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Field
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from apps.core.client_ip import client_ip
from apps.tenants.models import Membership

from . import failures, keys, throttling
from .models import APIKey

# Updating usage on every request would turn each read into a write; once a minute is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Compared against when the lookup matches nothing, so unknown keys take as long as wrong ones.
_DUMMY_DIGEST = "0" * 64


# What authentication reads of a key; the key's other fields load on first use, if ever.
_KEY_FIELDS = (
    "id",
    "tenant_id",
    "user_id",
    "name",
    "lookup",
    "digest",
    "scopes",
    "allowed_ips",
    "created_at",
    "expires_at",
    "revoked_at",
    "last_used_at",
    "last_used_ip",
)
_lookup_sql: str | None = None


def _column(model, name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, Field) and field.column  # the key and user columns are concrete fields
    return field.column


def _key_query() -> str:
    """One indexed lookup with the owner and the owner's role in the key's tenant joined in: the whole
    database cost of a request's authentication and of its principal's roles. Written as SQL once,
    from the models' own table and column names, because building the equivalent ORM query on every
    request costs more than running it."""
    global _lookup_sql
    if _lookup_sql is None:
        User, quote = get_user_model(), connection.ops.quote_name
        key_columns = [f"k.{quote(_column(APIKey, name))}" for name in _KEY_FIELDS]
        user_columns = [f"u.{quote(_column(User, field.name))}" for field in User._meta.concrete_fields]
        _lookup_sql = (
            f"SELECT {', '.join(key_columns + user_columns)}, m.{quote('role')} "
            f"FROM {quote(APIKey._meta.db_table)} k JOIN {quote(User._meta.db_table)} u ON u.id = k.user_id "
            f"LEFT JOIN {quote(Membership._meta.db_table)} m ON m.tenant_id = k.tenant_id AND m.user_id = k.user_id "
            "WHERE k.lookup = %s LIMIT 1"
        )
    return _lookup_sql


def _find(lookup: str) -> APIKey | None:
    with connection.cursor() as cursor:
        cursor.execute(_key_query(), [lookup])
        row = cursor.fetchone()
    if row is None:
        return None
    User, size = get_user_model(), len(_KEY_FIELDS)
    user_fields = [field.attname for field in User._meta.concrete_fields]
    api_key = APIKey.from_db(DEFAULT_DB_ALIAS, list(_KEY_FIELDS), row[:size])
    user = User.from_db(DEFAULT_DB_ALIAS, user_fields, row[size : size + len(user_fields)])
    APIKey._meta.get_field("user").set_cached_value(api_key, user)
    api_key.member_role = row[-1]  # principals read it instead of querying memberships again
    return api_key


class KeyRejected(exceptions.AuthenticationFailed):
    """401 with a stable code per reason."""

    def __init__(self, detail: str, code: str):
        super().__init__(detail, code)


class KeyForbidden(exceptions.PermissionDenied):
    """403: the key is valid but may not be used from here."""


class APIKeyAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        key = header[1].decode("latin-1") if len(header) == 2 else None
        view = (getattr(request, "parser_context", None) or {}).get("view")
        api_key = authenticate_key(
            key,
            client_ip(request),
            headers=getattr(view, "headers", None),
            request=getattr(request, "_request", request),
        )
        return api_key.user, api_key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'

    def _verify(self, key: str) -> APIKey:
        lookup = keys.parse(key)
        api_key = None
        if lookup:
            api_key = _find(lookup)
        if not keys.matches(key, api_key.digest if api_key else _DUMMY_DIGEST) or api_key is None:
            raise KeyRejected("Invalid API key.", "invalid_key")
        if api_key.revoked_at is not None:
            raise KeyRejected("This API key has been revoked.", "key_revoked")
        if api_key.is_expired:
            raise KeyRejected("This API key has expired.", "key_expired")
        if not api_key.user.is_active:
            raise KeyRejected("The owner of this API key is inactive.", "user_inactive")
        return api_key

    def _check_ip(self, api_key: APIKey, ip: str | None) -> None:
        if not api_key.allowed_ips:
            return
        try:
            address = ipaddress.ip_address(ip or "")
        except ValueError:
            address = None
        if address is None or not any(address in ipaddress.ip_network(net) for net in api_key.allowed_ips):
            raise KeyForbidden(f"This API key may not be used from {ip}.", "ip_not_allowed")

    def _touch(self, api_key: APIKey, ip: str | None) -> None:
        now = timezone.now()
        if api_key.last_used_at and now - api_key.last_used_at < LAST_USED_RESOLUTION and api_key.last_used_ip == ip:
            return
        APIKey.objects.filter(pk=api_key.pk).update(last_used_at=now, last_used_ip=ip)
        api_key.last_used_at, api_key.last_used_ip = now, ip


def authenticate_key(key: str | None, ip: str | None, headers: dict | None = None, request=None) -> APIKey:
    """The whole check of a presented key (None: a malformed header), for the REST API and WebSocket
    handshakes alike: the HMAC, revocation, expiry, owner, IP
    allow-list, the usage stamp, and the plan's meter. A refusal counts against the address's failure
    budget, and past it is answered 429. The
    Django `request`, when given, is marked with the metered key, so the usage counts what the meter
    counts (calls refused afterwards, 403, or by the meter, 429, included).
    Raises KeyRejected (401), KeyForbidden (403), TooManyFailures or RateLimited (429)."""
    authentication = APIKeyAuthentication()
    try:
        if key is None:
            raise KeyRejected("Malformed Authorization header; expected 'Bearer <key>'.", "invalid_key")
        api_key = authentication._verify(key)
        authentication._check_ip(api_key, ip)
    except (KeyRejected, KeyForbidden):
        failures.count(ip)
        failures.refuse_if_blocked(ip)  # past the budget a failure is a 429; a right key never is
        raise
    authentication._touch(api_key, ip)
    if request is not None:
        request.metered_key = api_key
    throttling.meter(api_key, headers)
    return api_key

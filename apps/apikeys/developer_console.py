"""The developer console (/console/): a member's keys in one of their tenants with usage and lifecycle
actions, the key report, quick-start snippets for that tenant, and the latest API changelog entries.

Key actions post to the tenant's key pages (/t/<slug>/keys/<pk>/...), which check membership and policy
as everywhere else, and return here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from apps.core.deprecation import CHANGELOG
from apps.core.policies import policy_for
from apps.tenants.models import Tenant
from apps.tenants.principals import as_principal
from apps.tenants.roles import Role, at_least
from apps.tenants.selectors import memberships_of

from . import selectors
from .forms import RotateForm
from .lifecycle import key_report
from .models import APIKey

CHANGELOG_SECTIONS = 2
KEY_LIMIT = 100
# The snippets deploy by name. Without a release to show, these stand in (placeholders, not demo data).
EXAMPLE_RELEASE = ("shop", 1)

# The catalog sits above this app: it installs how to find a tenant's newest (application, release number).
_release_finders: list[Callable[[Tenant], tuple[str, int] | None]] = []


def register_newest_release(finder: Callable[[Tenant], tuple[str, int] | None]) -> None:
    _release_finders[:] = [finder]


@login_required
def developer_console(request):
    memberships = list(memberships_of(request.user))
    membership = _chosen(memberships, request.GET.get("tenant"))
    context = {"memberships": memberships, "membership": membership, "changelog": changelog_entries()}
    if membership is not None:
        tenant, principal = membership.tenant, as_principal(request)
        visible = selectors.apikey_list_for(principal, tenant=tenant)
        keys = list(
            visible.filter(user=request.user).select_related("rotated_from").order_by("-created_at")[:KEY_LIMIT]
        )
        usage = selectors.usage_per_key(principal, keys)
        for key in keys:
            key.requests_today, key.requests_month = usage.get(key.pk, (0, 0))
        host = request.build_absolute_uri("/").rstrip("/")
        environment = tenant.environments.order_by("name").values_list("name", flat=True).first() or "dev"
        newest = _release_finders[0](tenant) if _release_finders else None
        application, release = newest or EXAMPLE_RELEASE
        context.update(
            tenant=tenant,
            keys=keys,
            awaiting=[key for key in keys if key.awaits_reveal] if tenant.is_active else [],  # revealed once active
            report=key_report(visible),
            show_owner=at_least(membership.role, Role.ADMIN),
            may_create=policy_for(APIKey).can_add(request, tenant),
            rotate_form=RotateForm(),
            snippets=quick_start(
                host=host, tenant=tenant.slug, environment=environment, application=application, release=release
            ),
        )
    return render(request, "apikeys/developer_console.html", context)


def _chosen(memberships: list, slug: str | None):
    """The membership for `?tenant=<slug>` (a tenant the user is not in is a 404, like a missing one), or the
    first one."""
    if not slug:
        return memberships[0] if memberships else None
    for membership in memberships:
        if membership.tenant.slug == slug:
            return membership
    raise Http404


@dataclass
class Snippet:
    slug: str
    title: str
    language: str
    code: str


def quick_start(*, host: str, tenant: str, environment: str, application: str, release: int) -> list[Snippet]:
    """Copy-paste examples for this portal and tenant, naming its newest release and first environment so
    they run as shown. The key is read from $PORTAL_API_KEY, never inlined."""
    setup = f'export PORTAL_URL="{host}"\nexport PORTAL_API_KEY="pk_…"   # a key from the table above\n\n'
    body = f'{{"tenant": "{tenant}", "application": "{application}", "release": {release}, "environment": "{environment}"}}'
    # A key naming the deploy: running the same command again returns the first deployment.
    idempotency = f"{application}-{release}-{environment}"
    return [
        Snippet(
            "curl",
            "curl",
            "bash",
            setup
            + (
                "# List the tenant's applications\n"
                f'curl -s -H "Authorization: Bearer $PORTAL_API_KEY" "$PORTAL_URL/api/v1/applications/?tenant={tenant}"\n'
                f"\n# Deploy release {release} of {application} to {environment}, all by name; the same\n"
                "# Idempotency-Key again returns the first deployment instead of deploying twice\n"
                'curl -s -X POST "$PORTAL_URL/api/v1/deployments/" \\\n'
                '  -H "Authorization: Bearer $PORTAL_API_KEY" -H "Content-Type: application/json" \\\n'
                f'  -H "Idempotency-Key: {idempotency}" \\\n'
                f"  -d '{body}'"
            ),
        ),
        Snippet(
            "python-client",
            "Python (portal_client)",
            "python",
            (
                "# pip install -e clients/python\n"
                "import os\n\nfrom portal_client import PortalClient\n\n"
                'client = PortalClient(os.environ["PORTAL_URL"], os.environ["PORTAL_API_KEY"])\n'
                f'for app in client.applications(tenant="{tenant}"):\n'
                '    print(app["id"], app["name"])\n\n'
                "# Sends an Idempotency-Key for you, so retrying after a timeout is safe\n"
                f'deployment = client.deploy(tenant="{tenant}", application="{application}", release={release}, '
                f'environment="{environment}")\n'
                'print(deployment["id"], deployment["state"])'
            ),
        ),
        Snippet(
            "python-requests",
            "Python (requests)",
            "python",
            (
                "import os\n\nimport requests\n\n"
                'url = os.environ["PORTAL_URL"] + "/api/v1"\n'
                "session = requests.Session()\n"
                'session.headers["Authorization"] = f"Bearer {os.environ[\'PORTAL_API_KEY\']}"\n\n'
                f'apps = session.get(f"{{url}}/applications/", params={{"tenant": "{tenant}"}}, timeout=30)\n'
                "apps.raise_for_status()\n"
                'for app in apps.json()["results"]:\n'
                '    print(app["id"], app["name"])\n\n'
                f"body = {body}\n"
                'deployment = session.post(f"{url}/deployments/", json=body, timeout=30,\n'
                f'                          headers={{"Idempotency-Key": "{idempotency}"}})\n'
                "deployment.raise_for_status()\n"
                'print(deployment.json()["id"], deployment.json()["state"])'
            ),
        ),
        Snippet(
            "portalctl",
            "portalctl",
            "bash",
            (
                "pip install -e clients/python\n"
                f'portalctl login --url "{host}" --key "$PORTAL_API_KEY"\n'
                f"portalctl apps list --tenant {tenant}\n"
                f"portalctl deploy --tenant {tenant} --app {application} --release {release} --env {environment} --watch"
            ),
        ),
    ]


@dataclass
class ChangelogSection:
    title: str
    items: list[str]


def changelog_entries(limit: int = CHANGELOG_SECTIONS) -> list[ChangelogSection]:
    """The newest sections of docs/api-changelog.md, each bullet as one line of plain text."""
    try:
        text = CHANGELOG.read_text(encoding="utf-8")
    except OSError:
        return []
    sections: list[ChangelogSection] = []
    for block in re.split(r"^## ", text, flags=re.MULTILINE)[1 : limit + 1]:
        title, _, body = block.partition("\n")
        items = [" ".join(item.split()) for item in re.split(r"^- ", body, flags=re.MULTILINE)[1:]]
        sections.append(ChangelogSection(title.strip(), [re.sub(r"\*\*|`", "", item) for item in items]))
    return sections

"""Namespaces are claims the platform hands out: never a system one, never ambiguous, never adopted."""

import pytest

from apps.clusters.kube import KubeClient
from apps.clusters.models import Placement
from apps.clusters.services import NAMESPACE_NOT_OURS, cluster_register, environment_provision
from apps.core.errors import ApplicationError
from apps.tenants.claims import RESERVED_NAME
from apps.tenants.models import Environment, Tenant
from tests.conftest import wait_for
from tests.factories import UserFactory

SYSTEM_NAMES = [
    "kube",
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "kube-flannel",
    "default",
    "paas-portal",
    "ingress-nginx",
    "cert-manager",
    "istio-system",
    "openshift",
    "openshift-monitoring",
]


def error_of(response, status):
    assert response.status_code == status, response.content
    return response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("slug", SYSTEM_NAMES)
def test_a_tenant_cannot_take_a_system_name(api, slug):
    body = error_of(
        api.as_user(UserFactory()).post("/api/v1/tenants/", {"slug": slug, "name": "Takeover"}, format="json"), 400
    )
    assert body["code"] == RESERVED_NAME and "reserved for the platform" in body["detail"]
    assert "slug" in body["fields"]
    assert not Tenant.objects.filter(slug=slug).exists() and not Environment.objects.filter(tenant__slug=slug).exists()


@pytest.mark.django_db
def test_double_hyphens_are_refused_so_names_never_collide(api, world):
    api.as_user(world.user("admin"))
    assert (
        error_of(api.post("/api/v1/tenants/", {"slug": "a--zz", "name": "A"}, format="json"), 400)["code"] == "invalid"
    )
    body = error_of(api.post("/api/v1/environments/", {"tenant": "acme", "name": "zz--dev"}, format="json"), 400)
    assert body["code"] == "invalid" and "name" in body["fields"]


@pytest.mark.django_db
def test_tenant_and_environment_names_that_once_collided_now_give_two_namespaces(api):
    owner = UserFactory()
    api.as_user(owner)
    assert api.post("/api/v1/tenants/", {"slug": "a", "name": "A"}, format="json").status_code == 201
    zz = error_of(api.post("/api/v1/environments/", {"tenant": "a", "name": "zz-dev"}, format="json"), 201)
    assert error_of(api.post("/api/v1/tenants/", {"slug": "a-zz", "name": "A ZZ"}, format="json"), 201)
    assert zz["namespace"] == "a--zz-dev"
    assert Environment.objects.get(tenant__slug="a-zz", name="dev").namespace == "a-zz--dev"


@pytest.mark.django_db
def test_an_operator_reserved_pattern_refuses_the_environment_that_would_make_it(api, world, settings):
    settings.RESERVED_NAMESPACES = [*settings.RESERVED_NAMESPACES, "*--vault"]
    body = error_of(
        api.as_user(world.user("admin")).post(
            "/api/v1/environments/", {"tenant": "acme", "name": "vault"}, format="json"
        ),
        400,
    )
    assert body["code"] == RESERVED_NAME and "acme--vault" in body["detail"] and "name" in body["fields"]


@pytest.mark.django_db
def test_deleting_an_environment_with_deployments_is_a_409_not_a_500(api, world):
    from apps.deployments.models import Deployment
    from tests.deployments.conftest import make_app, make_release

    release = make_release(make_app(world.acme, "shop"))
    dev = world.acme.environments.get(name="dev")
    Deployment.objects.create(
        tenant=world.acme,
        application=release.application,
        environment=dev,
        release=release,
        requested_by=world.user("owner"),
    )
    body = error_of(api.as_user(world.user("owner")).delete(f"/api/v1/environments/{dev.pk}/"), 409)
    assert body["code"] == "environment_in_use"
    assert Environment.objects.filter(pk=dev.pk).exists()


# --- On the cluster ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_existing_namespace_that_is_not_the_environments_is_refused_not_adopted(world, sandbox, celery_worker):
    kube = KubeClient(sandbox.api_client())
    kube.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "acme--qa", "labels": {"team": "x"}}}])
    cluster_register(operator=world.operator_principal, name="sandbox", auth_method="sandbox", api_url=sandbox.url)
    from apps.tenants.principals import as_principal
    from apps.tenants.services import environment_create

    qa = environment_create(actor=as_principal(world.user("admin")), tenant=world.acme, name="qa")
    placement = wait_for(lambda: Placement.objects.filter(environment=qa).exclude(last_error="").first(), timeout=30)
    assert "already exists" in placement.last_error and placement.provisioned_at is None
    labels = kube.get("v1", "Namespace", "acme--qa")["metadata"]["labels"]
    assert labels["team"] == "x" and "paas.dev/tenant" not in labels
    assert kube.get("networking.k8s.io/v1", "NetworkPolicy", "default-deny", "acme--qa") is None
    assert kube.get("v1", "LimitRange", "container-defaults", "acme--qa") is None


@pytest.mark.django_db(transaction=True)
def test_a_namespace_the_portal_made_for_another_environment_is_refused(world, sandbox):
    cluster_register(operator=world.operator_principal, name="sandbox", auth_method="sandbox", api_url=sandbox.url)
    dev = world.acme.environments.get(name="dev")
    environment_provision(environment=dev)
    environment_provision(environment=dev)  # its own namespace: provisioning again is fine
    # Another tenant's row naming acme's namespace (as rows made before the unambiguous scheme could).
    impostor = Environment.objects.create(tenant=world.globex, name="impostor", namespace=dev.namespace + "-x")
    KubeClient(sandbox.api_client()).apply(
        [
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": impostor.namespace,
                    "labels": {
                        "app.kubernetes.io/managed-by": "paas-portal",
                        "paas.dev/tenant": "acme",
                        "paas.dev/environment-id": str(dev.pk),
                    },
                },
            }
        ]
    )
    with pytest.raises(ApplicationError) as refused:
        environment_provision(environment=impostor)
    assert refused.value.code == NAMESPACE_NOT_OURS and "does not belong" in refused.value.message


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("namespace", ["kube-system", "default", "kube-public", "ingress-nginx", "paas-portal"])
def test_a_system_namespace_on_an_old_row_is_never_provisioned(world, sandbox, namespace):
    """Rows made before names were claims may name a system namespace; provisioning refuses them."""
    cluster_register(operator=world.operator_principal, name="sandbox", auth_method="sandbox", api_url=sandbox.url)
    kube = KubeClient(sandbox.api_client())
    before = kube.get("v1", "Namespace", namespace)
    legacy = Environment.objects.create(tenant=world.acme, name="legacy", namespace=namespace)
    with pytest.raises(ApplicationError) as refused:
        environment_provision(environment=legacy)
    assert refused.value.code == NAMESPACE_NOT_OURS and "reserved" in refused.value.message
    assert Placement.objects.get(environment=legacy).last_error
    after = kube.get("v1", "Namespace", namespace)
    assert (after or {}).get("metadata", {}).get("labels") == (before or {}).get("metadata", {}).get("labels")
    if after:
        assert kube.get("networking.k8s.io/v1", "NetworkPolicy", "default-deny", namespace) is None


@pytest.mark.django_db(transaction=True)
def test_a_tenant_namespace_holds_every_pod_to_the_baseline_pod_security_standard(world, sandbox):
    """Whoever creates a pod there, the portal or someone with kubectl behind its back, the cluster refuses
    the host's namespaces and files and privileged containers."""
    from apps.clusters.kube import KubeError

    cluster_register(operator=world.operator_principal, name="sandbox", auth_method="sandbox", api_url=sandbox.url)
    dev = world.acme.environments.get(name="dev")
    environment_provision(environment=dev)
    kube = KubeClient(sandbox.api_client())
    labels = kube.get("v1", "Namespace", dev.namespace)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "exfil", "namespace": dev.namespace},
        "spec": {
            "hostNetwork": True,
            "containers": [{"name": "x", "image": "evil.example/x:1", "securityContext": {"privileged": True}}],
        },
    }
    with pytest.raises(KubeError) as refused:
        kube.apply([pod])
    assert refused.value.status == 403 and 'violates PodSecurity "baseline:latest"' in refused.value.message

"""Building an official-client ApiClient from a Cluster's settings and decrypted credentials."""

from __future__ import annotations

import hashlib
import os
import tempfile

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from .kube import KubeClient, KubeError
from .models import Cluster


def parse_kubeconfig(text: str) -> dict:
    """A kubeconfig as a dict, or a KubeError that says what is wrong with it."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KubeError(f"The kubeconfig is not valid YAML: {exc.problem or exc}") from None
    if not isinstance(data, dict) or not data.get("clusters") or not data.get("contexts"):
        raise KubeError("The kubeconfig needs at least one cluster and one context.")
    return data


def kubeconfig_contexts(text: str) -> list[str]:
    return [context["name"] for context in parse_kubeconfig(text)["contexts"] if context.get("name")]


def api_client_for(cluster: Cluster) -> k8s.ApiClient:
    """An ApiClient for the cluster; raises KubeError when the stored settings cannot work."""
    creds = cluster.credentials
    if cluster.auth_method == Cluster.Auth.KUBECONFIG:
        config = parse_kubeconfig(creds.get("kubeconfig", ""))
        contexts = [c["name"] for c in config["contexts"]]
        context = creds.get("context") or config.get("current-context")
        if len(contexts) > 1 and not context:
            raise KubeError(f"The kubeconfig has several contexts ({', '.join(contexts)}); choose one.")
        try:
            return k8s_config.new_client_from_config_dict(config, context=context or contexts[0])
        except (ConfigException, KeyError, ValueError) as exc:
            raise KubeError(f"The kubeconfig cannot be used: {exc}") from None

    configuration = k8s.Configuration()
    if cluster.auth_method == Cluster.Auth.IN_CLUSTER:
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)
        except ConfigException as exc:
            raise KubeError(f"Not running inside a cluster: {exc}") from None
        return k8s.ApiClient(configuration)

    configuration.host = cluster.api_url.rstrip("/")
    if cluster.auth_method == Cluster.Auth.TOKEN:
        configuration.api_key = {"authorization": f"Bearer {creds.get('token', '')}"}
        if creds.get("ca_bundle"):
            configuration.ssl_ca_cert = _ca_file(creds["ca_bundle"])
    return k8s.ApiClient(configuration)


def _ca_file(bundle: str) -> str:
    """The official client reads a CA only from a file: one file per distinct bundle, written once."""
    path = os.path.join(tempfile.gettempdir(), f"portal-ca-{hashlib.sha256(bundle.encode()).hexdigest()[:16]}.crt")
    if not os.path.exists(path):
        with open(path, "w") as handle:
            handle.write(bundle)
    return path


def kube_for(cluster: Cluster, **options) -> KubeClient:
    return KubeClient(api_client_for(cluster), **options)

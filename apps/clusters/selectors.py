"""Reads of the cluster registry for the operator console (its views decided who asks)."""

from django.db.models import Count, QuerySet

from .models import Cluster, Placement


def cluster_list(*, placement_count: bool = False) -> QuerySet[Cluster]:
    """Every registered cluster by name; `placement_count` counts the environments placed on each."""
    clusters = Cluster.objects.order_by("name")
    return clusters.annotate(placement_count=Count("placements")) if placement_count else clusters


def placement_of(environment) -> Placement | None:
    """Where the environment runs, with its cluster; None when it was never placed (nothing of it runs)."""
    return Placement.objects.select_related("cluster").filter(environment=environment).first()


def cluster_for_environment(environment) -> Cluster | None:
    """The cluster the environment is placed on, else the one it would be placed on (the default)."""
    placed = Cluster.objects.filter(placements__environment=environment).first()
    return placed or Cluster.objects.filter(is_default=True).first()

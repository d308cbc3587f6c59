"""Thin tasks: ids in, a service called."""

from celery import shared_task

from . import services, switches


@shared_task(name=services.APPLY_TASK, acks_late=True)
def apply_route(route_id: int) -> None:
    services.route_apply(route_id=route_id)


@shared_task(name=services.REMOVE_TASK, acks_late=True, autoretry_for=(Exception,), retry_backoff=5, max_retries=5)
def remove_route(environment_id: int, name: str, route_id: int) -> None:
    services.route_remove_objects(environment_id=environment_id, name=name, route_id=route_id)


@shared_task(name=services.SYNC_TASK, acks_late=True, autoretry_for=(Exception,), retry_backoff=5, max_retries=5)
def sync_maintenance_server(environment_id: int) -> None:
    services.maintenance_server_sync(environment_id=environment_id)


@shared_task(name=switches.WINDOW_TASK)
def maintenance_windows() -> dict:
    """Beat: switch the routes whose maintenance window began or ended."""
    return switches.maintenance_windows_run()

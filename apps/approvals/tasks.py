"""Approvals tasks: thin, ids in, a service called."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from .models import ChangeRequest
from .services import requests


@shared_task(acks_late=True)
def expire_change_requests() -> int:
    """Beat: reject requests nobody decided on in time."""
    return requests.change_requests_expire()


@shared_task(acks_late=True)
def notify_approvers(change_request_id: int, revision: int, stage: int) -> int:
    """Mail the approvers of a stage; a request that moved on since is left alone."""
    request = (
        ChangeRequest.objects.select_related("tenant", "requested_by", "environment")
        .filter(pk=change_request_id, revision=revision, current_stage=stage)
        .first()
    )
    if request is None or not request.is_open:
        return 0
    return requests.approvers_notify(change_request=request)


@shared_task(acks_late=True)
def carry_out_change_request(change_request_id: int) -> None:
    request = ChangeRequest.objects.filter(pk=change_request_id).first()
    if request is None:
        return
    try:
        requests.change_request_execute(change_request=request)
    except SoftTimeLimitExceeded:  # a cluster that hangs rather than refuses: say so now, not never
        requests.change_request_executed(change_request=request, outcome=requests.UNFINISHED)


@shared_task(acks_late=True)
def finish_unfinished_change_requests() -> int:
    """Beat: approved changes whose carrying out never reported back are said to be unfinished."""
    return requests.change_requests_unfinished()

"""A real Open Service Broker for the OSB client's tests, built with openbrokerapi and run as its own
process: `python tests/marketplace/broker.py PORT USER PASSWORD`. It offers one service, "queue", with
a synchronous plan and an asynchronous one (202, then `last_operation` says succeeded after a second);
each binding gets its own credentials, and the broker answers 410 for anything it does not know."""

import sys
import time
import uuid

from openbrokerapi import api, errors
from openbrokerapi.catalog import ServicePlan
from openbrokerapi.service_broker import (
    Binding,
    DeprovisionServiceSpec,
    LastOperation,
    OperationState,
    ProvisionedServiceSpec,
    ProvisionState,
    Service,
    ServiceBroker,
    UnbindSpec,
)

SERVICE, SYNC_PLAN, ASYNC_PLAN = "svc-queue", "plan-basic", "plan-slow"


class QueueBroker(ServiceBroker):
    def __init__(self):
        self.instances: dict[str, dict] = {}
        self.bindings: dict[str, dict] = {}

    def catalog(self):
        return Service(
            id=SERVICE,
            name="queue",
            description="A message queue",
            bindable=True,
            plans=[
                ServicePlan(id=SYNC_PLAN, name="basic", description="Made at once"),
                ServicePlan(id=ASYNC_PLAN, name="slow", description="Made in the background"),
            ],
        )

    def provision(self, instance_id, details, async_allowed, **kwargs):
        if details.plan_id == ASYNC_PLAN:
            if not async_allowed:
                raise errors.ErrAsyncRequired()
            self.instances[instance_id] = {"ready_at": time.monotonic() + 1, "space": details.space_guid}
            return ProvisionedServiceSpec(state=ProvisionState.IS_ASYNC, operation="create")
        self.instances[instance_id] = {"ready_at": 0, "space": details.space_guid}
        return ProvisionedServiceSpec()

    def last_operation(self, instance_id, operation_data, **kwargs):
        instance = self.instances.get(instance_id)
        if instance is None:
            raise errors.ErrInstanceDoesNotExist()
        if time.monotonic() < instance["ready_at"]:
            return LastOperation(OperationState.IN_PROGRESS, "Creating the queue")
        return LastOperation(OperationState.SUCCEEDED, "Ready")

    def bind(self, instance_id, binding_id, details, async_allowed, **kwargs):
        if instance_id not in self.instances:
            raise errors.ErrInstanceDoesNotExist()
        password = uuid.uuid4().hex
        self.bindings[binding_id] = {"instance": instance_id, "password": password}
        return Binding(credentials={"uri": f"amqp://{binding_id}:{password}@queue.example/{instance_id}"})

    def unbind(self, instance_id, binding_id, details, async_allowed, **kwargs):
        if self.bindings.pop(binding_id, None) is None:
            raise errors.ErrBindingDoesNotExist()
        return UnbindSpec(is_async=False)

    def deprovision(self, instance_id, details, async_allowed, **kwargs):
        if self.instances.pop(instance_id, None) is None:
            raise errors.ErrInstanceDoesNotExist()
        return DeprovisionServiceSpec(is_async=False)


if __name__ == "__main__":
    port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    api.serve(QueueBroker(), api.BrokerCredentials(user, password), host="127.0.0.1", port=port)

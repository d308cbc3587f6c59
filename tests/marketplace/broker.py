"""A real Open Service Broker for the OSB client's tests, built with openbrokerapi and run as its own
process: `python tests/marketplace/broker.py PORT USER PASSWORD`. It offers one service, "queue", with
a synchronous plan and an asynchronous one. On the asynchronous plan every operation answers 202 and
takes a second: provisioning and deprovisioning are reported at the instance's `last_operation`,
binding and unbinding at the binding's, and a binding's credentials are fetched once it is made
(`bindings_retrievable`). Each 202 carries an `operation` token, and a poll that does not send it back
is answered "failed", as a broker that keys its operations by token would. A binding for the
application "broken" fails. Each binding gets its own
credentials, and the broker answers 410 for anything it does not know."""

import sys
import time
import uuid

from openbrokerapi import api, errors
from openbrokerapi.catalog import ServicePlan
from openbrokerapi.service_broker import (
    Binding,
    BindState,
    DeprovisionServiceSpec,
    GetBindingSpec,
    LastOperation,
    OperationState,
    ProvisionedServiceSpec,
    ProvisionState,
    Service,
    ServiceBroker,
    UnbindSpec,
)

SERVICE, SYNC_PLAN, ASYNC_PLAN = "svc-queue", "plan-basic", "plan-slow"
TAKES = 1.0  # seconds an asynchronous operation takes


class QueueBroker(ServiceBroker):
    def __init__(self):
        self.instances: dict[str, dict] = {}
        self.bindings: dict[str, dict] = {}
        self.unbound: set[str] = set()

    def catalog(self):
        return Service(
            id=SERVICE,
            name="queue",
            description="A message queue",
            bindable=True,
            bindings_retrievable=True,
            plans=[
                ServicePlan(id=SYNC_PLAN, name="basic", description="Made at once"),
                ServicePlan(id=ASYNC_PLAN, name="slow", description="Made in the background"),
            ],
        )

    def provision(self, instance_id, details, async_allowed, **kwargs):
        if details.plan_id == ASYNC_PLAN:
            if not async_allowed:
                raise errors.ErrAsyncRequired()
            token = f"create-{uuid.uuid4().hex[:8]}"
            self.instances[instance_id] = {"ready_at": time.monotonic() + 1, "space": details.space_guid, "op": token}
            return ProvisionedServiceSpec(state=ProvisionState.IS_ASYNC, operation=token)
        self.instances[instance_id] = {"ready_at": 0, "space": details.space_guid}
        return ProvisionedServiceSpec()

    def last_operation(self, instance_id, operation_data, **kwargs):
        instance = self.instances.get(instance_id)
        if instance is None:
            raise errors.ErrInstanceDoesNotExist()  # 410: deprovisioned
        if instance.get("op") and operation_data != instance["op"]:
            return LastOperation(OperationState.FAILED, f"Unknown operation {operation_data!r}")
        if instance.get("removed_at") and time.monotonic() >= instance["removed_at"]:
            del self.instances[instance_id]
            raise errors.ErrInstanceDoesNotExist()
        if instance.get("removed_at"):
            return LastOperation(OperationState.IN_PROGRESS, "Deleting the queue")
        if time.monotonic() < instance["ready_at"]:
            return LastOperation(OperationState.IN_PROGRESS, "Creating the queue")
        return LastOperation(OperationState.SUCCEEDED, "Ready")

    def bind(self, instance_id, binding_id, details, async_allowed, **kwargs):
        if instance_id not in self.instances:
            raise errors.ErrInstanceDoesNotExist()
        if binding_id in self.bindings:
            raise errors.ErrBindingAlreadyExists()
        password = uuid.uuid4().hex
        binding = {
            "instance": instance_id,
            "credentials": {"uri": f"amqp://{binding_id}:{password}@queue.example/{instance_id}"},
            "ready_at": 0,
            "broken": details.bind_resource is not None and details.bind_resource.app_guid == "broken",
        }
        self.bindings[binding_id] = binding
        if details.plan_id == ASYNC_PLAN:
            if not async_allowed:
                raise errors.ErrAsyncRequired()
            binding["ready_at"] = time.monotonic() + TAKES
            binding["op"] = f"bind-{uuid.uuid4().hex[:8]}"
            return Binding(state=BindState.IS_ASYNC, operation=binding["op"])
        return Binding(credentials=binding["credentials"])

    def last_binding_operation(self, instance_id, binding_id, operation_data, **kwargs):
        binding = self.bindings.get(binding_id)
        if binding is None:
            if binding_id in self.unbound:
                return LastOperation(OperationState.SUCCEEDED, "Deleted")
            return LastOperation(OperationState.FAILED, "No such binding")
        if binding.get("op") and operation_data != binding["op"]:
            return LastOperation(OperationState.FAILED, f"Unknown operation {operation_data!r}")
        now = time.monotonic()
        if binding.get("removed_at"):
            if now < binding["removed_at"]:
                return LastOperation(OperationState.IN_PROGRESS, "Revoking the credentials")
            del self.bindings[binding_id]
            self.unbound.add(binding_id)
            return LastOperation(OperationState.SUCCEEDED, "Deleted")
        if now < binding["ready_at"]:
            return LastOperation(OperationState.IN_PROGRESS, "Creating credentials")
        if binding["broken"]:
            return LastOperation(OperationState.FAILED, "No capacity left for credentials")
        return LastOperation(OperationState.SUCCEEDED, "Bound")

    def get_binding(self, instance_id, binding_id, **kwargs):
        binding = self.bindings.get(binding_id)
        if binding is None or time.monotonic() < binding["ready_at"] or binding["broken"] or binding.get("removed_at"):
            raise errors.ErrBindingDoesNotExist()
        return GetBindingSpec(credentials=binding["credentials"])

    def unbind(self, instance_id, binding_id, details, async_allowed, **kwargs):
        binding = self.bindings.get(binding_id)
        if binding is None:
            raise errors.ErrBindingDoesNotExist()
        if details.plan_id == ASYNC_PLAN and async_allowed:
            binding["removed_at"] = time.monotonic() + TAKES
            binding["op"] = f"unbind-{uuid.uuid4().hex[:8]}"
            return UnbindSpec(is_async=True, operation=binding["op"])
        del self.bindings[binding_id]
        self.unbound.add(binding_id)
        return UnbindSpec(is_async=False)

    def deprovision(self, instance_id, details, async_allowed, **kwargs):
        instance = self.instances.get(instance_id)
        if instance is None:
            raise errors.ErrInstanceDoesNotExist()
        if details.plan_id == ASYNC_PLAN and async_allowed:
            if "removed_at" not in instance:
                instance["removed_at"] = time.monotonic() + TAKES
                instance["op"] = f"delete-{uuid.uuid4().hex[:8]}"
            return DeprovisionServiceSpec(is_async=True, operation=instance["op"])
        del self.instances[instance_id]
        return DeprovisionServiceSpec(is_async=False)


if __name__ == "__main__":
    port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    api.serve(QueueBroker(), api.BrokerCredentials(user, password), host="127.0.0.1", port=port)

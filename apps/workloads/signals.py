"""Signals of the workloads app, for the apps above it (the CMDB) that keep their own view of a workload."""

from django.dispatch import Signal

# Sent with `workload` after each read of the cluster stored what it saw (health, sync, drift).
workload_read = Signal()

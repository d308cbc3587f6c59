"""The sandbox cluster: a small Kubernetes-API-compatible server for local runs, demos and tests.

The official client and kubectl talk to it unchanged over plain HTTP. It keeps objects in memory
(optionally in a JSON state file) and runs simulated controllers, so Deployments roll out, fail
and scale as on a real cluster. See `server.py` for the ways to run it.
"""

from .controllers import Timing
from .server import SandboxCluster, SandboxServer, kubeconfig, run

__all__ = ["SandboxCluster", "SandboxServer", "Timing", "kubeconfig", "run"]

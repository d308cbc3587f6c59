"""Fault injection for reliability tests: 500s at a rate, added latency, forced 409s, dropped watches.

Faults apply to the Kubernetes API paths only (`/api`, `/apis`), never to `/sandbox/*`, so a
test can always switch them off again. Dropping watches is an action, not a setting: every open
watch stream ends at once, as when an API server restarts, and clients must resume.
"""

import asyncio
import random

from aiohttp import web

from .errors import APIError
from .store import encode

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SETTINGS = {
    "error_rate": (int, float),
    "latency_ms": (int, float),
    "force_conflicts": (int,),
    "methods": (list, tuple),
    "seed": (int,),
}


class Faults:
    def __init__(self):
        self.clear()
        self.injected = {"errors": 0, "conflicts": 0, "delayed": 0, "dropped_watches": 0}

    def clear(self) -> None:
        self.error_rate = 0.0
        self.latency_ms = 0.0
        self.force_conflicts = 0
        self.methods: frozenset[str] = frozenset()
        self._random = random.Random()

    def configure(self, **settings) -> None:
        """Change some settings, keep the others. ValueError / TypeError name anything unknown or wrong."""
        unknown = set(settings) - set(_SETTINGS)
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        for name, value in settings.items():
            if isinstance(value, bool) or not isinstance(value, _SETTINGS[name]):
                raise TypeError(f"{name} has the wrong type: {value!r}")
        if not 0 <= settings.get("error_rate", 0) <= 1:
            raise ValueError("error_rate must be between 0 and 1")
        if settings.get("latency_ms", 0) < 0 or settings.get("force_conflicts", 0) < 0:
            raise ValueError("latency_ms and force_conflicts cannot be negative")
        if "error_rate" in settings:
            self.error_rate = float(settings["error_rate"])
        if "latency_ms" in settings:
            self.latency_ms = float(settings["latency_ms"])
        if "force_conflicts" in settings:
            self.force_conflicts = settings["force_conflicts"]
        if "methods" in settings:
            self.methods = frozenset(method.upper() for method in settings["methods"])
        if "seed" in settings:
            self._random = random.Random(settings["seed"])

    def as_dict(self) -> dict:
        return {
            "error_rate": self.error_rate,
            "latency_ms": self.latency_ms,
            "force_conflicts": self.force_conflicts,
            "methods": sorted(self.methods),
            "injected": dict(self.injected),
        }

    @property
    def active(self) -> bool:
        return bool(self.error_rate or self.latency_ms or self.force_conflicts)

    def middleware(self):
        @web.middleware
        async def inject(request: web.Request, handler):
            if not self.active or not request.path.startswith("/api"):
                return await handler(request)
            if self.methods and request.method not in self.methods:
                return await handler(request)
            if self.latency_ms:
                self.injected["delayed"] += 1
                await asyncio.sleep(self.latency_ms / 1000)
            if self.force_conflicts and request.method in WRITES:
                self.force_conflicts -= 1
                self.injected["conflicts"] += 1
                return _conflict(request.path)
            if self.error_rate and self._random.random() < self.error_rate:
                self.injected["errors"] += 1
                error = APIError(500, "InternalError", "Internal error occurred: sandbox fault injection")
                return web.Response(body=encode(error.status()), status=500, content_type="application/json")
            return await handler(request)

        return inject


def _conflict(path: str) -> web.Response:
    parts = [part for part in path.split("/") if part]
    name = parts[-1] if len(parts) > 1 else ""
    kind = parts[-2] if len(parts) > 1 else "resource"
    if name in ("status", "scale") and len(parts) > 3:
        name, kind = parts[-2], parts[-3]
    error = APIError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {kind} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        {"name": name, "kind": kind},
    )
    return web.Response(body=encode(error.status()), status=409, content_type="application/json")

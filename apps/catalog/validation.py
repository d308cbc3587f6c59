"""The rules a release must meet before it is stored, each refusal naming its field.

A release is what the deployment pipeline turns into Kubernetes objects, so everything here mirrors
what the cluster would refuse (names, quantities, probes, schedules) and says so before a deploy.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from decimal import Decimal, InvalidOperation

from apps.core.errors import INVALID, ApplicationError, FieldErrors
from apps.core.numbers import digits
from apps.tenants.claims import is_dns_name, normalize_host

from .models import ComponentKind

# The distribution "reference" grammar: [registry[:port]/]path[:tag][@digest].
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
_DIGEST = r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?"
IMAGE_RE = re.compile(rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*{_TAG}{_DIGEST}$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
SECRET_KEY_RE = re.compile(r"^[-._a-zA-Z0-9]+$")
PORT_NAME_RE = re.compile(r"^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
CPU_RE = re.compile(r"^(?P<number>\d+(?:\.\d{1,3})?)(?P<milli>m?)$")
MEMORY_RE = re.compile(r"^(?P<number>\d+(?:\.\d+)?)(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
MEMORY_FACTORS = {
    None: 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
PROBE_HANDLERS = ("httpGet", "tcpSocket", "exec")
PROBE_TIMINGS = {
    "initialDelaySeconds": 0,
    "periodSeconds": 1,
    "timeoutSeconds": 1,
    "failureThreshold": 1,
    "successThreshold": 1,
}
CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
CRON_NAMES = {
    "month": ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
    "day of week": ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
}
MAX_REPLICAS = 100


def refuse(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, code=INVALID, field=field)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- Image, command, environment ---------------------------------------------------------------


def image_digest(image: str, field: str = "image") -> str:
    """Check the reference and return the digest it pins ("" for a tag), since the digest is what runs."""
    if not isinstance(image, str) or not image.strip():
        raise refuse(field, "Give the container image, for example nginx:1.27 or ghcr.io/acme/api:2.3.1.")
    match = IMAGE_RE.match(image)
    if match is None or len(image) > 255:
        raise refuse(
            field,
            f"“{image}” is not an image reference; write registry/repository:tag or "
            "repository@sha256:<64 hex digits>, in lower case, for example ghcr.io/acme/api:2.3.1.",
        )
    if not match["tag"] and not match["digest"]:
        raise refuse(
            field,
            f"Give “{image}” a tag or a digest, for example {image}:1.0: without one it means "
            ":latest, which can change under a release.",
        )
    return match["digest"] or ""


def string_list(value, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise refuse(field, "Give a list of strings, one per argument.")
    return value


def env_vars(env, field: str = "env") -> dict[str, str]:
    if not isinstance(env, dict):
        raise refuse(field, "Give environment variables as an object of NAME: value.")
    for name, value in env.items():
        if not ENV_NAME_RE.match(name):
            raise refuse(
                field,
                f"“{name}” is not a valid environment variable name: use letters, digits and "
                "underscores, not starting with a digit.",
            )
        if not isinstance(value, str):
            raise refuse(field, f'The value of {name} must be a string; quote it, for example "{value}".')
    return env


def secret_refs(refs, env: dict, field: str = "secret_refs") -> list[dict]:
    """Each reference reads one key of one Kubernetes Secret into one environment variable."""
    if not isinstance(refs, list):
        raise refuse(field, 'Give a list of {"name": "DB_PASSWORD", "secret": "db", "key": "password"}.')
    seen = set()
    for ref in refs:
        if not isinstance(ref, dict) or set(ref) != {"name", "secret", "key"}:
            raise refuse(field, 'Each secret reference is {"name": "DB_PASSWORD", "secret": "db", "key": "password"}.')
        name, secret, key = ref["name"], ref["secret"], ref["key"]
        if not isinstance(name, str) or not ENV_NAME_RE.match(name):
            raise refuse(field, f"“{name}” is not a valid environment variable name.")
        if not isinstance(secret, str) or len(secret) > 253 or not SECRET_NAME_RE.match(secret):
            raise refuse(field, f"“{secret}” is not a Secret name: use lower-case letters, digits, '-' and '.'.")
        if not isinstance(key, str) or len(key) > 253 or not SECRET_KEY_RE.match(key):
            raise refuse(field, f"“{key}” is not a Secret key: use letters, digits, '-', '_' and '.'.")
        if name in seen or name in env:
            raise refuse(field, f"{name} is set twice; give each variable once, as a value or as a secret.")
        seen.add(name)
    return refs


# --- Ports and resources -----------------------------------------------------------------------


def ports(value, field: str = "ports") -> list[dict]:
    if not isinstance(value, list):
        raise refuse(field, 'Give a list of ports, for example [{"name": "http", "port": 8080}].')
    numbers, names = set(), set()
    for entry in value:
        if not isinstance(entry, dict) or "port" not in entry or set(entry) - {"name", "port", "protocol"}:
            raise refuse(field, 'Each port is {"name": "http", "port": 8080} with an optional "protocol".')
        number, name = entry["port"], entry.get("name", "")
        if not _is_int(number) or not 1 <= number <= 65535:
            raise refuse(field, f"Port {number} is out of range: use 1 to 65535.")
        if number in numbers:
            raise refuse(field, f"Port {number} is listed twice.")
        if not isinstance(name, str) or (name and (len(name) > 15 or not PORT_NAME_RE.match(name))):
            raise refuse(field, f"“{name}” is not a port name: up to 15 lower-case letters, digits and '-'.")
        if name and name in names:
            raise refuse(field, f"The port name “{name}” is used twice.")
        if entry.get("protocol", "TCP") not in ("TCP", "UDP", "SCTP"):
            raise refuse(field, f"Protocol “{entry['protocol']}” is not TCP, UDP or SCTP.")
        numbers.add(number)
        names.add(name)
    return value


def replicas(value, field: str = "replicas") -> int:
    if not _is_int(value) or not 0 <= value <= MAX_REPLICAS:
        raise refuse(field, f"Replicas must be a whole number from 0 to {MAX_REPLICAS}.")
    return value


def cpu_millicores(value: str, field: str) -> int:
    """ "250m", "0.5" or "2" in millicores; anything else is refused with an example."""
    match = CPU_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise refuse(field, f"“{value}” is not a CPU quantity: write millicores like 250m, or cores like 0.5 or 2.")
    number = Decimal(match["number"])
    millicores = number if match["milli"] else number * 1000
    if millicores != millicores.to_integral_value() or millicores <= 0:
        raise refuse(field, f"“{value}” is not a whole number of millicores above zero (the smallest is 1m).")
    return int(millicores)


def memory_bytes(value: str, field: str) -> int:
    """ "128Mi", "1Gi" (or decimal "500M") in bytes; a lower-case "mi" or a milli "m" gets a hint."""
    match = MEMORY_RE.match(value) if isinstance(value, str) else None
    if match is None:
        hint = _memory_hint(value)
        raise refuse(
            field,
            f"“{value}” is not a memory quantity{hint}: write 128Mi, 512Mi or 1Gi "
            "(the suffixes Ki, Mi, Gi and Ti are case-sensitive).",
        )
    try:
        amount = Decimal(match["number"]) * MEMORY_FACTORS[match["suffix"]]
    except InvalidOperation:
        raise refuse(field, f"“{value}” is not a memory quantity.") from None
    if amount <= 0:
        raise refuse(field, "Memory must be more than zero.")
    return int(amount)


def _memory_hint(value) -> str:
    text = str(value)
    fixed = re.sub(r"(?i)(ki|mi|gi|ti)$", lambda m: m.group(1).capitalize(), text)
    if fixed != text and MEMORY_RE.match(fixed):
        return f"; did you mean “{fixed}”?"
    if text.endswith("m") and digits(text[:-1]):
        return f" (“m” would mean thousandths of a byte; did you mean “{text[:-1]}Mi”?)"
    return ""


def resources(spec: dict, invalid: Collection[str] = ()) -> None:
    """Requests must parse and limits, when set, must not be below their requests; every bad quantity
    is reported, not only the first. Fields in `invalid` (known bad) are not read."""
    problems = FieldErrors()
    for kind, parse in (("cpu", cpu_millicores), ("memory", memory_bytes)):
        request = limit = None
        if f"{kind}_request" not in invalid:
            with problems.check():
                request = parse(spec[f"{kind}_request"], f"{kind}_request")
        if spec[f"{kind}_limit"] and f"{kind}_limit" not in invalid:
            with problems.check():
                limit = parse(spec[f"{kind}_limit"], f"{kind}_limit")
        if request is not None and limit is not None and limit < request:
            problems.errors[f"{kind}_limit"] = [
                f"The {kind.upper() if kind == 'cpu' else kind} limit ({spec[f'{kind}_limit']}) is below the "
                f"request ({spec[f'{kind}_request']})."
            ]
    problems.raise_any()


# --- Probes ------------------------------------------------------------------------------------


def probe(value, field: str, port_names: set[str]) -> dict:
    """Empty (no probe), or exactly one of httpGet {path, port}, tcpSocket {port}, exec {command},
    with optional Kubernetes timings."""
    if value in (None, {}):
        return {}
    if not isinstance(value, dict):
        raise refuse(field, 'Give a probe such as {"httpGet": {"path": "/healthz", "port": 8080}}.')
    handlers = [key for key in PROBE_HANDLERS if key in value]
    unknown = set(value) - set(PROBE_HANDLERS) - set(PROBE_TIMINGS)
    if unknown:
        raise refuse(
            field,
            f"Unknown probe setting {', '.join(sorted(unknown))}; use httpGet, tcpSocket or exec "
            f"and {', '.join(PROBE_TIMINGS)}.",
        )
    if len(handlers) != 1:
        raise refuse(field, "A probe has exactly one of httpGet, tcpSocket or exec.")
    _probe_handler(value[handlers[0]], handlers[0], field, port_names)
    for key, minimum in PROBE_TIMINGS.items():
        if key in value and (not _is_int(value[key]) or not minimum <= value[key] <= 3600):
            raise refuse(field, f"{key} must be a whole number of seconds from {minimum} to 3600.")
    return value


def _probe_handler(handler, kind: str, field: str, port_names: set[str]) -> None:
    if not isinstance(handler, dict):
        raise refuse(field, f"{kind} must be an object.")
    if kind == "exec":
        command = handler.get("command")
        if (
            set(handler) != {"command"}
            or not isinstance(command, list)
            or not command
            or not all(isinstance(part, str) for part in command)
        ):
            raise refuse(field, 'exec needs a command list, for example {"command": ["cat", "/tmp/ready"]}.')
        return
    allowed = {"path", "port", "scheme"} if kind == "httpGet" else {"port"}
    if set(handler) - allowed or "port" not in handler:
        raise refuse(field, f"{kind} takes {', '.join(sorted(allowed))}, and needs a port.")
    _probe_port(handler["port"], field, port_names)
    if kind == "httpGet":
        path = handler.get("path")
        if not isinstance(path, str) or not path.startswith("/") or " " in path:
            raise refuse(field, "httpGet needs a path starting with /, for example /healthz.")
        if handler.get("scheme", "HTTP") not in ("HTTP", "HTTPS"):
            raise refuse(field, "The httpGet scheme is HTTP or HTTPS.")


def _probe_port(port, field: str, port_names: set[str]) -> None:
    if _is_int(port) and 1 <= port <= 65535:
        return
    if isinstance(port, str) and port in port_names:
        return
    raise refuse(
        field,
        f"The probe port {port!r} is neither a number from 1 to 65535 nor the name of one of the release's ports.",
    )


# --- Ingress, autoscaling, schedule ------------------------------------------------------------


def ingress(host: str, path: str, kind: str, port_list: list[dict]) -> None:
    if not host:
        return
    if kind != ComponentKind.WEB:
        raise refuse("ingress_host", "Only web services are reachable through an ingress host.")
    if not is_dns_name(host):
        raise refuse(
            "ingress_host",
            f"“{host}” is not a DNS name: use lower-case labels of letters, digits and "
            "hyphens separated by dots, for example shop.acme.example.com.",
        )
    if not port_list:
        raise refuse("ports", "A web service with an ingress host needs a port to send traffic to.")
    if not isinstance(path, str) or not path.startswith("/") or any(ch.isspace() for ch in path):
        raise refuse("ingress_path", "The ingress path starts with / and has no spaces, for example /.")


def autoscaling(minimum, maximum, target, kind: str, invalid: Collection[str] = ()) -> None:
    """A minimum, a maximum and a CPU target together, or none; a field in `invalid` (known bad) counts
    as given and is not checked again."""
    values = {"autoscale_min": minimum, "autoscale_max": maximum, "autoscale_cpu_target": target}
    given = [value is not None or field in invalid for field, value in values.items()]
    if not any(given):
        return
    if kind == ComponentKind.CRON:
        raise refuse("autoscale_min", "Cron jobs run to completion and do not autoscale.")
    if not all(given):
        raise refuse(
            "autoscale_min" if not given[0] else "autoscale_max" if not given[1] else "autoscale_cpu_target",
            "Autoscaling needs a minimum, a maximum and a CPU target together.",
        )
    errors = {}
    for field, value in (("autoscale_min", minimum), ("autoscale_max", maximum)):
        if field not in invalid and (not _is_int(value) or not 1 <= value <= MAX_REPLICAS):
            errors[field] = [f"Autoscaling bounds are whole numbers from 1 to {MAX_REPLICAS}."]
    if not errors and not {"autoscale_min", "autoscale_max"} & set(invalid) and minimum > maximum:
        errors["autoscale_max"] = [f"The maximum ({maximum}) is below the minimum ({minimum})."]
    if "autoscale_cpu_target" not in invalid and (not _is_int(target) or not 1 <= target <= 100):
        errors["autoscale_cpu_target"] = ["The CPU target is a percentage from 1 to 100."]
    if errors:
        raise ApplicationError.invalid(errors)


def schedule(value: str, kind: str) -> None:
    if kind != ComponentKind.CRON:
        if value:
            raise refuse("schedule", "Only cron jobs have a schedule.")
        return
    if not value:
        raise refuse("schedule", "A cron job needs a schedule, for example “0 3 * * *” (every day at 03:00).")
    if value in CRON_MACROS:
        return
    parts = value.split()
    if len(parts) != 5:
        raise refuse(
            "schedule",
            f"“{value}” has {len(parts)} fields; a schedule has five: minute, hour, "
            "day of month, month and day of week, for example “*/15 * * * *”.",
        )
    for part, (name, low, high) in zip(parts, CRON_FIELDS, strict=True):
        if not _cron_field_ok(part, name, low, high):
            raise refuse(
                "schedule",
                f"The {name} field “{part}” is not valid: use *, numbers from {low} to {high}, "
                "ranges (1-5), lists (1,15) and steps (*/10).",
            )


def _cron_field_ok(part: str, name: str, low: int, high: int) -> bool:
    for item in part.split(","):
        base, _, step = item.partition("/")
        if step and (not digits(step) or int(step) < 1):
            return False
        if base == "*":
            continue
        values = [_cron_value(bound, name) for bound in base.split("-")]
        if len(values) > 2 or any(v is None or not low <= v <= high for v in values):
            return False
        if len(values) == 2 and values[0] > values[1]:
            return False
    return True


def _cron_value(text: str, name: str) -> int | None:
    """A number, or a month or weekday name (JAN = 1, SUN = 0) as cron reads it."""
    names = CRON_NAMES.get(name, [])
    if text.upper() in names:
        return names.index(text.upper()) + (1 if name == "month" else 0)
    return int(text) if digits(text) else None


# --- The whole release -------------------------------------------------------------------------

# Every field of a release that says how it runs, in the order people read them (and diffs list them).
SPEC_DEFAULTS = {
    "image": "",
    "command": [],
    "args": [],
    "env": {},
    "secret_refs": [],
    "ports": [],
    "replicas": 1,
    "cpu_request": "100m",
    "cpu_limit": "",
    "memory_request": "128Mi",
    "memory_limit": "",
    "liveness_probe": {},
    "readiness_probe": {},
    "ingress_host": "",
    "ingress_path": "/",
    "autoscale_min": None,
    "autoscale_max": None,
    "autoscale_cpu_target": None,
    "schedule": "",
}
RELEASE_FIELDS = (*SPEC_DEFAULTS, "notes")
TEXT_FIELDS = (
    "image",
    "cpu_request",
    "cpu_limit",
    "memory_request",
    "memory_limit",
    "ingress_host",
    "ingress_path",
    "schedule",
    "notes",
)


def release_spec(fields: dict, kind: str | None, invalid: Collection[str] = ()) -> dict:
    """The complete, checked field values of a new release of an application of this kind.

    Missing fields take their defaults; unknown ones are refused. Returns the values with
    `image_digest` added when the image reference pins one.

    For a request that already failed elsewhere, so that one answer still lists every error:
    `invalid` names fields that failed to parse (they are not checked, nor is what depends on them),
    and a `kind` of None (no such application) skips the checks that depend on the kind.
    """
    unknown = sorted(set(fields) - set(RELEASE_FIELDS))
    if unknown:
        raise ApplicationError.invalid({name: [f"“{name}” is not a release field."] for name in unknown})
    spec = {**SPEC_DEFAULTS, "notes": "", **fields}
    problems = FieldErrors()
    problems.errors.update({name: [] for name in invalid})  # known bad: what depends on them is skipped
    for name in TEXT_FIELDS:
        if spec[name] is None:
            spec[name] = SPEC_DEFAULTS.get(name, "")
        if not isinstance(spec[name], str):
            problems.errors[name] = ["Give this as text."]
            spec[name] = SPEC_DEFAULTS.get(name, "")
        spec[name] = spec[name].strip()
    spec["ingress_path"] = spec["ingress_path"] or "/"
    spec["ingress_host"] = normalize_host(spec["ingress_host"])  # DNS is case-blind; a trailing dot is the root

    def check(names: tuple[str, ...], call) -> None:
        """Run one check on its own, so that one answer lists every invalid field; not when a field
        it reads is known bad."""
        if not any(name in problems for name in names):
            with problems.check():
                call()

    def keep(name: str, call, reads: str = "") -> None:
        """A check whose answer becomes the field's value (the image's digest, a probe)."""

        def run() -> None:
            spec[name] = call()

        check((reads or name,), run)

    keep("image_digest", lambda: image_digest(spec["image"]), reads="image")
    for name in ("command", "args"):
        check((name,), lambda name=name: string_list(spec[name], name))
    check(("env",), lambda: env_vars(spec["env"]))
    check(
        ("secret_refs",), lambda: secret_refs(spec["secret_refs"], spec["env"] if isinstance(spec["env"], dict) else {})
    )
    check(("ports",), lambda: ports(spec["ports"]))
    check(("replicas",), lambda: replicas(spec["replicas"]))
    check((), lambda: resources(spec, invalid))
    if "ports" not in problems:
        port_names = {port.get("name") for port in spec["ports"] if port.get("name")}
        for field in ("liveness_probe", "readiness_probe"):
            keep(field, lambda field=field: probe(spec[field], field, port_names))
        if kind is not None:
            check(
                ("ingress_host", "ingress_path"),
                lambda: ingress(spec["ingress_host"], spec["ingress_path"], kind, spec["ports"]),
            )
    if kind is not None:
        check(
            (),
            lambda: autoscaling(
                spec["autoscale_min"], spec["autoscale_max"], spec["autoscale_cpu_target"], kind, invalid
            ),
        )
        check(("schedule",), lambda: schedule(spec["schedule"], kind))
    for name in invalid:
        if not problems.errors.get(name):
            problems.errors.pop(name, None)
    problems.raise_any()
    return spec

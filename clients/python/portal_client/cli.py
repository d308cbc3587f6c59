"""portalctl: the portal from a terminal. Every command is one or two API calls through PortalClient.

Configuration comes from `portalctl login` (~/.config/portalctl/config.toml, mode 0600) or from the
environment (PORTAL_URL, PORTAL_API_KEY), which wins. Exit codes: 0 success, 1 the API refused or
could not be reached, 2 bad usage, 3 a watched deployment or a followed build ended without succeeding.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tarfile
import time
import tomllib
from pathlib import Path

from .client import PortalClient, PortalError
from .stream import watch

EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_DEPLOYMENT_NOT_SUCCEEDED = 3


# --- configuration -----------------------------------------------------------------------------


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "portalctl" / "config.toml"


def load_config() -> dict:
    path = config_path()
    config = tomllib.loads(path.read_text()) if path.exists() else {}
    if os.environ.get("PORTAL_URL"):
        config["url"] = os.environ["PORTAL_URL"]
    if os.environ.get("PORTAL_API_KEY"):
        config["key"] = os.environ["PORTAL_API_KEY"]
    return config


def save_config(url: str, key: str) -> Path:
    """Write the config readable by its owner only: it holds a secret."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # also when the file existed with looser permissions
    with os.fdopen(descriptor, "w") as out:
        out.write(f"url = {_toml_string(url)}\nkey = {_toml_string(key)}\n")
    return path


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def make_client(args) -> PortalClient:
    config = load_config()
    url, key = args.url or config.get("url"), args.key or config.get("key")
    if not url or not key:
        raise _Usage("Not logged in: run `portalctl login --url URL --key KEY` or set PORTAL_URL and PORTAL_API_KEY.")
    return PortalClient(url, key)


class _Usage(Exception):
    pass


# --- output ------------------------------------------------------------------------------------


def out(line: str = "") -> None:
    print(line, flush=True)


def table(rows: list[dict], columns: list[str]) -> None:
    if not rows:
        out("(none)")
        return
    cells = [[("" if row.get(c) is None else str(row.get(c))) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    out("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in cells:
        out("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


def format_event(event: dict) -> str:
    when = (event.get("created_at") or "")[11:19]
    label = event.get("state") or event.get("key") or ""
    return f"{event['seq']:>4}  {when}  {event.get('kind', ''):<8} {label:<12} {event.get('message', '')}".rstrip()


def _key_values(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise _Usage(f"--env takes NAME=VALUE, not “{pair}”.")
        env[name] = value
    return env


# --- commands ----------------------------------------------------------------------------------


def cmd_login(args) -> int:
    url, key = args.login_url or args.url, args.login_key or args.key
    if not url or not key:
        raise _Usage("login needs --url and --key.")
    me = PortalClient(url, key).me()  # a key the portal refuses is never stored
    path = save_config(url, key)
    out(f"Logged in to {url} as {me.get('email', '?')}; saved to {path}")
    return 0


def cmd_apps_list(args) -> int:
    rows = list(make_client(args).applications(tenant=args.tenant, limit=args.limit))
    table(rows, ["id", "name", "component_kind", "tenant", "latest_release"])
    return 0


def cmd_releases_list(args) -> int:
    client = make_client(args)
    app = client.application(args.app, tenant=args.tenant)
    table(
        list(client.releases(application=app["id"], limit=args.limit)),
        ["id", "number", "image", "replicas", "created_by", "created_at"],
    )
    return 0


def cmd_releases_create(args) -> int:
    client = make_client(args)
    fields = {}
    if args.env:
        fields["env"] = _key_values(args.env)
    if args.replicas is not None:
        fields["replicas"] = args.replicas
    if args.notes:
        fields["notes"] = args.notes
    app = client.application(args.app, tenant=args.tenant)
    release = client.create_release(application=app, image=args.image, **fields)
    out(f"Created release #{release['number']} of {app['name']} (id {release['id']}): {release['image']}")
    return 0


def cmd_deploy(args) -> int:
    client = make_client(args)
    deployment = client.deploy(
        release=args.release,
        environment=args.env,
        application=args.app,
        tenant=args.tenant,
        justification=args.justification,
        strategy=args.strategy,
    )
    out(
        f"Deployment {deployment['id']}: release #{deployment['release_number']} of {deployment['application']} "
        f"to {deployment['environment_name']} is {deployment['state']}"
    )
    if deployment["state"] == "pending_approval":
        out("It waits for approval: see `portalctl changes list`.")
    if not args.watch:
        return 0
    return _watch(client, deployment["id"], args)


def cmd_watch(args) -> int:
    return _watch(make_client(args), args.deployment, args)


def _watch(client: PortalClient, deployment_id: int, args) -> int:
    state = watch(
        client,
        deployment_id,
        lambda event: out(format_event(event)),
        timeout=args.timeout,
        use_socket=not args.poll,
        on_notice=lambda message: print(message, file=sys.stderr, flush=True),
    )
    out(f"Deployment {deployment_id} {state}.")
    return 0 if state == "succeeded" else EXIT_DEPLOYMENT_NOT_SUCCEEDED


BUILD_TERMINAL = ("succeeded", "failed", "cancelled")
# Never uploaded: version control and the local virtualenv are not part of an image.
BUILD_SKIP = {".git", ".venv", "__pycache__"}


def _skip(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    return None if Path(info.name).name in BUILD_SKIP else info


def _context(directory: Path) -> bytes:
    """The folder as a .tar.gz build context (symbolic links kept as links, as the portal checks them)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for entry in sorted(directory.iterdir()):
            if entry.name not in BUILD_SKIP:
                archive.add(entry, arcname=entry.name, filter=_skip)
    return buffer.getvalue()


def cmd_build(args) -> int:
    client = make_client(args)
    app = client.application(args.app, tenant=args.tenant)
    build = client.build(
        tenant=app["tenant"],
        application=app["name"],
        context=_context(Path(args.directory)),
        tag=args.tag or "",
        dockerfile=args.file,
        create_release=args.release,
    )
    out(f"Build {build['id']} of {app['name']} is {build['state']}: {build['image']}:{build['tag']}")
    last_seq, deadline = 0, None if args.timeout is None else time.monotonic() + args.timeout
    while True:
        # The log API is the record: ask for what came after the last line seen, until the build ends.
        for line in client.build_log(build["id"], after_seq=last_seq):
            out(line["text"])
            last_seq = line["seq"]
        build = client.build_status(build["id"])
        if build["state"] in BUILD_TERMINAL and build["last_seq"] <= last_seq:
            break
        if deadline is not None and time.monotonic() > deadline:
            out(f"Build {build['id']} is still {build['state']}; stopped following it.")
            return EXIT_DEPLOYMENT_NOT_SUCCEEDED
        time.sleep(args.interval)
    if build["state"] == "succeeded":
        out(f"Pushed {build['pinned_image']}")
        if build["release_number"]:
            out(f"Release #{build['release_number']} pins it.")
        return 0
    return EXIT_DEPLOYMENT_NOT_SUCCEEDED


def cmd_approve(args) -> int:
    result = make_client(args).approve(args.change_request, comment=args.comment or "")
    out(f"Change request {result['id']} is {result['state']}.")
    return 0


def cmd_reject(args) -> int:
    result = make_client(args).reject(args.change_request, comment=args.comment)
    out(f"Change request {result['id']} is {result['state']}.")
    return 0


def cmd_changes_list(args) -> int:
    rows = list(make_client(args).change_requests(waiting_for_me=args.waiting, limit=args.limit))
    table(rows, ["id", "kind", "state", "title", "environment_name", "requested_by"])
    return 0


def cmd_audit_tail(args) -> int:
    client = make_client(args)
    recent = list(client.audit_events(tenant=args.tenant, limit=args.lines))
    seen = set()
    for event in reversed(recent):
        _print_audit(event, seen)
    while args.follow:
        time.sleep(args.interval)
        since = max((e["created_at"] for e in recent), default=None)
        fresh = list(client.audit_events(tenant=args.tenant, created_after=since, limit=500))
        for event in reversed(fresh):
            _print_audit(event, seen)
        recent = fresh or recent
    return 0


def _print_audit(event: dict, seen: set) -> None:
    if event["id"] in seen:
        return
    seen.add(event["id"])
    actor = event.get("actor") or "-"
    target = event.get("object_display") or f"{event.get('object_type', '')} {event.get('object_id', '')}".strip()
    out(
        f"{event.get('created_at', '')[:19]}  {event.get('tenant') or '-':<10} {actor:<28} "
        f"{event.get('action', ''):<28} {target}".rstrip()
    )


# --- the parser --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portalctl", description="The PaaS portal from a terminal.")
    parser.add_argument("--url", help="portal address (default: config or PORTAL_URL)")
    parser.add_argument("--key", help="API key (default: config or PORTAL_API_KEY)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    login = commands.add_parser("login", help="check a key and store it with the URL")
    login.add_argument("--url", dest="login_url", help="the portal's address, e.g. https://portal.example.com")
    login.add_argument("--key", dest="login_key", help="an API key (pk_…); create one under Keys in the portal")
    login.set_defaults(func=cmd_login)

    apps = commands.add_parser("apps", help="applications").add_subparsers(dest="action", required=True)
    apps_list = apps.add_parser("list", help="list applications")
    apps_list.add_argument("--tenant")
    apps_list.add_argument("--limit", type=int)
    apps_list.set_defaults(func=cmd_apps_list)

    releases = commands.add_parser("releases", help="releases").add_subparsers(dest="action", required=True)
    rel_list = releases.add_parser("list", help="an application's releases, newest first")
    rel_list.add_argument("app", help="application name or id")
    rel_list.add_argument("--tenant")
    rel_list.add_argument("--limit", type=int)
    rel_list.set_defaults(func=cmd_releases_list)
    rel_create = releases.add_parser("create", help="cut an application's next release")
    rel_create.add_argument("app", help="application name or id")
    rel_create.add_argument("--image", required=True)
    rel_create.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    rel_create.add_argument("--replicas", type=int)
    rel_create.add_argument("--notes")
    rel_create.add_argument("--tenant")
    rel_create.set_defaults(func=cmd_releases_create)

    deploy = commands.add_parser("deploy", help="deploy a release to an environment")
    deploy.add_argument("--app", help="application name or id; then --release is its release number")
    deploy.add_argument("--release", type=int, required=True, help="release id, or with --app the release number")
    deploy.add_argument("--env", required=True, help="environment name, e.g. prod")
    deploy.add_argument("--tenant", help="whose names --app and --env are (default: the application's tenant)")
    deploy.add_argument("--justification", help="why (production changes may need one for approval)")
    deploy.add_argument("--strategy", choices=["rolling", "canary", "blue_green"])
    deploy.add_argument("--watch", action="store_true", help="follow it live; exit 0 only if it succeeds")
    _watch_options(deploy)
    deploy.set_defaults(func=cmd_deploy)

    watch_cmd = commands.add_parser("watch", help="follow a deployment's events live until it ends")
    watch_cmd.add_argument("deployment", type=int)
    _watch_options(watch_cmd)
    watch_cmd.set_defaults(func=cmd_watch)

    build = commands.add_parser("build", help="build the current folder into an image and follow the log")
    build.add_argument("app", help="application name or id")
    build.add_argument("directory", nargs="?", default=".", help="the build context (default: the current folder)")
    build.add_argument("-f", "--file", default="Dockerfile", help="the Dockerfile's path inside the context")
    build.add_argument("-t", "--tag", help="the image tag (default: build-<number>)")
    build.add_argument("--release", action="store_true", help="cut a release pinned to the pushed digest")
    build.add_argument("--tenant")
    build.add_argument("--timeout", type=float, help="stop following after this many seconds (exit 1)")
    build.add_argument("--interval", type=float, default=0.5, help=argparse.SUPPRESS)
    build.set_defaults(func=cmd_build)

    approve = commands.add_parser("approve", help="approve a change request")
    approve.add_argument("change_request", type=int)
    approve.add_argument("--comment")
    approve.set_defaults(func=cmd_approve)
    reject = commands.add_parser("reject", help="reject a change request")
    reject.add_argument("change_request", type=int)
    reject.add_argument("--comment", required=True)
    reject.set_defaults(func=cmd_reject)

    changes = commands.add_parser("changes", help="change requests").add_subparsers(dest="action", required=True)
    changes_list = changes.add_parser("list", help="list change requests")
    changes_list.add_argument("--waiting", action="store_true", help="only those waiting for my decision")
    changes_list.add_argument("--limit", type=int)
    changes_list.set_defaults(func=cmd_changes_list)

    audit = commands.add_parser("audit", help="the audit trail").add_subparsers(dest="action", required=True)
    tail = audit.add_parser("tail", help="the latest audit events, oldest first")
    tail.add_argument("-n", "--lines", type=int, default=20)
    tail.add_argument("--tenant")
    tail.add_argument("-f", "--follow", action="store_true", help="keep printing new events")
    tail.add_argument("--interval", type=float, default=2.0, help=argparse.SUPPRESS)
    tail.set_defaults(func=cmd_audit_tail)
    return parser


def _watch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, help="stop watching after this many seconds (exit 1)")
    parser.add_argument("--poll", action="store_true", help="poll the events API instead of the WebSocket")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except _Usage as error:
        print(f"portalctl: {error}", file=sys.stderr)
        return EXIT_USAGE
    except PortalError as error:
        print(f"portalctl: error: {error} [{error.code}]", file=sys.stderr)
        return EXIT_API_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

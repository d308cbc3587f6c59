"""PostgreSQL on a shared server: an instance is a database, a binding is its own login role.

The instance's database belongs to a NOLOGIN owner role and nobody else may connect
(`REVOKE CONNECT ... FROM PUBLIC`). A binding is a LOGIN role with a SCRAM password that may connect
to that database only; with a `readwrite` plan it acts as the owner (objects it creates belong to the
instance, not to the binding), with `readonly` it may only read. Unbinding stops its logins, ends its
sessions, hands anything it still owns to the owner and drops the role.
"""

from __future__ import annotations

import contextlib
import secrets
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from .base import Operation, ProviderError, short_uid

CONNECT_TIMEOUT = 5
DEFAULT_CONNECTIONS = 10


def database_name(instance) -> str:
    return f"addon_{short_uid(instance)}"


def owner_name(instance) -> str:
    return f"addon_{short_uid(instance)}_owner"


def _say(exc: psycopg.Error) -> str:
    """The server's reason in one line (a psycopg error never carries a password we sent: we send
    passwords only as SCRAM verifiers inside statements, which the server does not echo)."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    return primary or str(exc).strip().splitlines()[0]


class PostgresProvider:
    """Databases and roles on one shared PostgreSQL server, reached with the operator's admin URL."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url

    # --- connections --------------------------------------------------------------------------

    def _connect(self, database: str | None = None) -> psycopg.Connection:
        parts = urlsplit(self.admin_url)
        url = urlunsplit(parts._replace(path=f"/{database}")) if database else self.admin_url
        try:
            return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
        except psycopg.Error as exc:
            raise ProviderError(f"The PostgreSQL server does not answer: {_say(exc)}") from None

    def _run(self, statements: list, database: str | None = None) -> None:
        with self._connect(database) as conn:
            for statement in statements:
                conn.execute(statement)

    def client_url(self, user: str, password: str, database: str) -> str:
        """How an application reaches the database: the admin URL's host and port, the binding's login."""
        parts = urlsplit(self.admin_url)
        host = parts.hostname or "localhost"
        netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(("postgresql", netloc, f"/{database}", "", ""))

    # --- the protocol -------------------------------------------------------------------------

    def provision(self, instance) -> str:
        database, owner = database_name(instance), owner_name(instance)
        made: list[sql.Composable] = []  # what to undo, newest first, when a later step fails
        try:
            with self._connect() as conn:
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(owner)))
                made.insert(0, sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(owner)))
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(owner))
                )
                made.insert(0, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
                conn.execute(
                    sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database))
                )
            self._run(
                [
                    sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(owner)),
                    sql.SQL("REVOKE ALL ON SCHEMA public FROM PUBLIC"),
                ],
                database,
            )
        except psycopg.Error as exc:
            self._undo(made)
            raise ProviderError(f"PostgreSQL refused to create the database: {_say(exc)}") from None
        return database

    def _undo(self, statements: list) -> None:
        """Remove what a failed provision made; the provider's own error is the one reported."""
        with contextlib.suppress(psycopg.Error, ProviderError):
            self._run(statements)

    def deprovision(self, instance) -> None:
        try:
            self._run(
                [
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database_name(instance))),
                    sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(owner_name(instance))),
                ]
            )
        except psycopg.Error as exc:
            raise ProviderError(f"PostgreSQL refused to drop the database: {_say(exc)}") from None

    def bind(self, binding) -> tuple[str, dict[str, str]]:
        instance = binding.instance
        database, owner = database_name(instance), owner_name(instance)
        user = f"{database}_{secrets.token_hex(4)}"
        password = secrets.token_urlsafe(24)
        limits = instance.plan.limits or {}
        connections = int(limits.get("connections", DEFAULT_CONNECTIONS))
        role, db = sql.Identifier(user), sql.Identifier(database)
        statements = [
            sql.SQL("SET password_encryption = 'scram-sha-256'"),
            sql.SQL("CREATE ROLE {} LOGIN CONNECTION LIMIT {} PASSWORD {}").format(
                role, sql.Literal(connections), sql.Literal(password)
            ),
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, role),
        ]
        if limits.get("access", "readwrite") == "readonly":
            in_database = [
                sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role),
                sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(role),
                sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public GRANT SELECT ON TABLES TO {}").format(
                    sql.Identifier(owner), role
                ),
            ]
        else:  # act as the owner: what the binding creates belongs to the instance
            statements += [
                sql.SQL("GRANT {} TO {}").format(sql.Identifier(owner), role),
                sql.SQL("ALTER ROLE {} IN DATABASE {} SET role = {}").format(role, db, sql.Literal(owner)),
            ]
            in_database = []
        try:
            self._run(statements)
            if in_database:
                self._run(in_database, database)
        except psycopg.Error as exc:
            with contextlib.suppress(psycopg.Error):
                self._revoke(user, owner, database)
            raise ProviderError(f"PostgreSQL refused to create the binding's role: {_say(exc)}") from None
        return user, {"url": self.client_url(user, password, database)}

    def unbind(self, binding) -> None:
        instance = binding.instance
        try:
            self._revoke(binding.username, owner_name(instance), database_name(instance))
        except psycopg.Error as exc:
            raise ProviderError(f"PostgreSQL refused to revoke the binding's role: {_say(exc)}") from None

    def _revoke(self, user: str, owner: str, database: str) -> None:
        """NOLOGIN first, so nothing reconnects while its sessions end; then hand over and drop."""
        role = sql.Identifier(user)
        with self._connect() as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [user]).fetchone()
            if not exists:
                return
            conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(role))
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [user])
        with self._connect(database) as conn:
            conn.execute(sql.SQL("REASSIGN OWNED BY {} TO {}").format(role, sql.Identifier(owner)))
            conn.execute(sql.SQL("DROP OWNED BY {}").format(role))
        self._run([sql.SQL("DROP ROLE IF EXISTS {}").format(role)])

    def usage(self, instance) -> dict:
        """The database's size on disk."""
        with self._connect() as conn:
            row = conn.execute("SELECT pg_database_size(%s)", [database_name(instance)]).fetchone()
        return {"bytes": int(row[0]) if row else 0}

    def last_operation(self, instance) -> Operation:
        return Operation("succeeded")

    # --- checks -------------------------------------------------------------------------------

    def check(self) -> str:
        """Connect as the admin and say which server answered; raises ProviderError."""
        with self._connect() as conn:
            row = conn.execute("SHOW server_version").fetchone()
            privileged = conn.execute(
                "SELECT rolsuper OR (rolcreatedb AND rolcreaterole) FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
        if not privileged or not privileged[0]:
            raise ProviderError("The admin user must be a superuser, or may create databases and roles.")
        return f"PostgreSQL {row[0] if row else '?'}"

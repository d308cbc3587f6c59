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

from .base import SUCCEEDED, Operation, ProviderError, Step, short_uid

CONNECT_TIMEOUT = 5
DEFAULT_CONNECTIONS = 10


def database_name(instance) -> str:
    return f"addon_{short_uid(instance)}"


def owner_name(instance) -> str:
    return f"addon_{short_uid(instance)}_owner"


def _instance_mark(instance) -> str:
    """What the instance's roles say about themselves (COMMENT ON ROLE): the owner this, each binding's
    role this followed by " binding"."""
    return f"paas-portal add-on {instance.uid}"


def _mark_of(conn: psycopg.Connection, role: str) -> str | None:
    """None without such a role; its comment (empty without one) otherwise."""
    row = conn.execute(
        "SELECT coalesce(shobj_description(oid, 'pg_authid'), '') FROM pg_roles WHERE rolname = %s", [role]
    ).fetchone()
    return None if row is None else row[0]


def _role_exists(conn: psycopg.Connection, role: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone() is not None


def _database_owner(conn: psycopg.Connection, database: str) -> str | None:
    row = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [database]).fetchone()
    return None if row is None else row[0]


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
    #
    # Each operation is a list of steps, every one safe to run again: `provision` runs them all, and a
    # run that was cut off between two of them (a worker killed after creating the owner role, before
    # the database) is finished by running them all again. The objects carry a mark
    # (`COMMENT ON ROLE`, set in the transaction that creates the role) so a re-run adopts what an
    # earlier run made and never what someone else made under the same name.

    def provision_steps(self, instance) -> list[Step]:
        database, owner = database_name(instance), owner_name(instance)
        db = sql.Identifier(database)
        return [
            Step("create the owner role", lambda: self._ensure_owner(instance)),
            Step("create the database", lambda: self._ensure_database(instance)),
            Step(
                "close the database to others",
                lambda: self._run([sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(db)]),
            ),
            Step(
                "give the owner its schema",
                lambda: self._run(
                    [
                        sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(owner)),
                        sql.SQL("REVOKE ALL ON SCHEMA public FROM PUBLIC"),
                    ],
                    database,
                ),
            ),
        ]

    def provision(self, instance) -> str:
        try:
            for step in self.provision_steps(instance):
                step.run()
        except psycopg.Error as exc:
            with contextlib.suppress(psycopg.Error, ProviderError):  # the provider's own error is the one reported
                self._forget(instance)
            raise ProviderError(f"PostgreSQL refused to create the database: {_say(exc)}") from None
        except ProviderError:
            with contextlib.suppress(psycopg.Error, ProviderError):
                self._forget(instance)
            raise
        return database_name(instance)

    def _ensure_owner(self, instance) -> None:
        """The instance's NOLOGIN owner role, created and marked in one transaction (or found, marked)."""
        owner = owner_name(instance)
        with self._connect() as conn:
            mark = _mark_of(conn, owner)
            if mark == _instance_mark(instance):
                return
            if mark is not None:
                raise ProviderError(f"PostgreSQL refused to create the database: role “{owner}” already exists.")
            with conn.transaction():
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(owner)))
                conn.execute(
                    sql.SQL("COMMENT ON ROLE {} IS {}").format(
                        sql.Identifier(owner), sql.Literal(_instance_mark(instance))
                    )
                )

    def _ensure_database(self, instance) -> None:
        """CREATE DATABASE cannot run in a transaction: a database of that name owned by the instance's
        (marked) owner is the one an earlier run made; owned by anyone else, it is not ours."""
        database, owner = database_name(instance), owner_name(instance)
        with self._connect() as conn:
            found = _database_owner(conn, database)
            if found == owner:
                return
            if found is not None:
                raise ProviderError(
                    f"PostgreSQL refused to create the database: database “{database}” already exists "
                    "and belongs to another role."
                )
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(owner)))

    def deprovision_steps(self, instance, *, strict: bool = False) -> list[Step]:
        """`strict`: drop only a marked owner role (a failed provision's cleanup, which must not take a
        stranger's role of that name); removal also takes an unmarked one, made before roles were marked."""
        return [
            Step("revoke credentials an interrupted bind left", lambda: self._revoke_leftovers(instance)),
            Step("drop the database", lambda: self._drop_database(instance)),
            Step("drop the owner role", lambda: self._drop_owner(instance, strict=strict)),
        ]

    def deprovision(self, instance) -> Operation:
        try:
            for step in self.deprovision_steps(instance):
                step.run()
        except psycopg.Error as exc:
            raise ProviderError(f"PostgreSQL refused to drop the database: {_say(exc)}") from None
        return SUCCEEDED

    def _forget(self, instance) -> None:
        """Everything of the instance's that exists, removed (a failed provision's cleanup)."""
        for step in self.deprovision_steps(instance, strict=True):
            step.run()

    def _revoke_leftovers(self, instance) -> None:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT rolname FROM pg_roles WHERE shobj_description(oid, 'pg_authid') LIKE %s",
                [_instance_mark(instance) + " binding%"],
            ).fetchall()
        for (user,) in rows:
            self._revoke(user, owner_name(instance), database_name(instance))

    def _drop_database(self, instance) -> None:
        database = database_name(instance)
        with self._connect() as conn:
            if _database_owner(conn, database) == owner_name(instance):
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))

    def _drop_owner(self, instance, *, strict: bool) -> None:
        owner = owner_name(instance)
        ours = (_instance_mark(instance),) if strict else (_instance_mark(instance), "")
        with self._connect() as conn:
            if _mark_of(conn, owner) in ours:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(owner)))

    def credential_name(self, binding) -> str:
        return f"{database_name(binding.instance)}_{secrets.token_hex(4)}"

    def bind_steps(self, binding, password: str) -> list[Step]:
        instance, user = binding.instance, binding.username
        database, owner = database_name(instance), owner_name(instance)
        limits = instance.plan.limits or {}
        connections = int(limits.get("connections", DEFAULT_CONNECTIONS))
        role, db = sql.Identifier(user), sql.Identifier(database)
        statements = [
            sql.SQL("SET LOCAL password_encryption = 'scram-sha-256'"),
            sql.SQL("CREATE ROLE {} LOGIN CONNECTION LIMIT {} PASSWORD {}").format(
                role, sql.Literal(connections), sql.Literal(password)
            ),
            sql.SQL("COMMENT ON ROLE {} IS {}").format(role, sql.Literal(f"{_instance_mark(instance)} binding")),
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, role),
        ]
        steps = []
        if limits.get("access", "readwrite") == "readonly":
            steps.append(Step("create the role", lambda: self._run_atomically(statements)))
            steps.append(
                Step(
                    "grant it reading",
                    lambda: self._run(
                        [
                            sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role),
                            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(role),
                            sql.SQL(
                                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public GRANT SELECT ON TABLES TO {}"
                            ).format(sql.Identifier(owner), role),
                        ],
                        database,
                    ),
                )
            )
        else:  # act as the owner: what the binding creates belongs to the instance
            statements += [
                sql.SQL("GRANT {} TO {}").format(sql.Identifier(owner), role),
                sql.SQL("ALTER ROLE {} IN DATABASE {} SET role = {}").format(role, db, sql.Literal(owner)),
            ]
            steps.append(Step("create the role", lambda: self._run_atomically(statements)))
        return steps

    def _run_atomically(self, statements: list) -> None:
        with self._connect() as conn, conn.transaction():
            for statement in statements:
                conn.execute(statement)

    def bind(self, binding) -> dict[str, str]:
        """The login role named `binding.username`, made (with its password, mark and grants) in one
        transaction; a readonly plan's grants inside the database follow. A failure revokes it again."""
        instance = binding.instance
        password = secrets.token_urlsafe(24)
        try:
            for step in self.bind_steps(binding, password):
                step.run()
        except psycopg.Error as exc:
            with contextlib.suppress(psycopg.Error, ProviderError):
                self._revoke(binding.username, owner_name(instance), database_name(instance))
            raise ProviderError(f"PostgreSQL refused to create the binding's role: {_say(exc)}") from None
        return {"url": self.client_url(binding.username, password, database_name(instance))}

    def unbind_steps(self, binding) -> list[Step]:
        return self._revoke_steps(binding.username, owner_name(binding.instance), database_name(binding.instance))

    def _revoke_steps(self, user: str, owner: str, database: str) -> list[Step]:
        """NOLOGIN first, so nothing reconnects while its sessions end; then hand over and drop. Each
        step does nothing when the role (or the database) is gone already."""
        role = sql.Identifier(user)

        def stop_logins():
            with self._connect() as conn:
                if _role_exists(conn, user):
                    conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(role))

        def end_sessions():
            with self._connect() as conn:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [user])

        def hand_over():
            with self._connect() as conn:
                if not _role_exists(conn, user) or _database_owner(conn, database) is None:
                    return
            with self._connect(database) as conn:
                conn.execute(sql.SQL("REASSIGN OWNED BY {} TO {}").format(role, sql.Identifier(owner)))
                conn.execute(sql.SQL("DROP OWNED BY {}").format(role))

        def drop():
            self._run([sql.SQL("DROP ROLE IF EXISTS {}").format(role)])

        return [
            Step("stop its logins", stop_logins),
            Step("end its sessions", end_sessions),
            Step("hand over what it owns", hand_over),
            Step("drop the role", drop),
        ]

    def unbind(self, binding) -> Operation:
        try:
            for step in self.unbind_steps(binding):
                step.run()
        except psycopg.Error as exc:
            raise ProviderError(f"PostgreSQL refused to revoke the binding's role: {_say(exc)}") from None
        return SUCCEEDED

    def _revoke(self, user: str, owner: str, database: str) -> None:
        for step in self._revoke_steps(user, owner, database):
            step.run()

    def binding_last_operation(self, binding) -> Operation:
        return Operation("failed", "The binding was interrupted before it finished.")

    def binding_details(self, binding) -> dict[str, str]:
        raise ProviderError("PostgreSQL binds at once; there is nothing to fetch.")

    def usage(self, instance) -> dict:
        """The database's size on disk."""
        with self._connect() as conn:
            row = conn.execute("SELECT pg_database_size(%s)", [database_name(instance)]).fetchone()
        return {"bytes": int(row[0]) if row else 0}

    def last_operation(self, instance) -> Operation:
        return SUCCEEDED

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

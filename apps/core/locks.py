"""Named locks that last until the transaction ends: PostgreSQL advisory locks keyed by a string.

For work that must take turns but has no one row to lock (claims under one domain, routes of one
namespace, the scales of one workload). Held to commit or rollback, so a lock is never left behind; a
caller outside a transaction would hold it for one statement only, so one is required.
"""

from django.db import connection, transaction


def lock_until_commit(name: str) -> None:
    """Wait for, then hold, the lock called `name` until the current transaction ends."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"The lock {name!r} would end with its own statement: take it inside transaction.atomic.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])

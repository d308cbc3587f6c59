"""The flush after a transactional test (tests/conftest.py) leaves the rows Django's own flush leaves."""

import pytest
from django.core.management import call_command

from apps.audit.models import AuditEvent
from tests import conftest
from tests.personas import build_world


@pytest.mark.django_db(transaction=True)
def test_the_quick_flush_leaves_the_rows_djangos_flush_leaves(monkeypatch):
    # As TransactionTestCase flushes: sequences go on, post_migrate puts its rows back.
    call_command("flush", interactive=False, verbosity=0, reset_sequences=False)
    after_django = conftest._copy_rows("default")
    monkeypatch.setitem(conftest._rows_after_flush, "default", after_django)
    build_world()
    # The append-only audit trail has rows too, which a DELETE could not remove.
    assert AuditEvent.objects.exists()
    assert conftest._copy_rows("default") != after_django

    conftest._flush_and_restore("default")
    assert conftest._copy_rows("default") == after_django

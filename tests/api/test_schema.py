"""The OpenAPI schema validates and drf-spectacular has nothing to warn about: clients and the API
fuzzer (test_fuzz.py) rely on it describing every operation truthfully."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_the_schema_validates_without_a_warning(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").stat().st_size > 10_000

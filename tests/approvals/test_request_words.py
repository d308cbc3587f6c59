"""A change request's page says the release change in words, never as a Python repr."""

import pytest

from apps.tenants.roles import Role

from .test_pages import governed, requested  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def test_the_release_diff_reads_as_words(world, client, requested):  # noqa: F811
    client.force_login(world.user(Role.ADMIN))
    page = client.get(f"/t/acme/approvals/{requested.pk}/").content.decode()
    diff = page[page.index('id="release-diff"') : page.index("</table>", page.index('id="release-diff"'))]
    assert "name=http, port=8080" in diff
    assert "&#x27;" not in diff and "[{" not in diff and "None" not in diff

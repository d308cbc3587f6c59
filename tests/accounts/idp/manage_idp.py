"""Set up the test IdP's client, users and groups from the test process:

python -m tests.accounts.idp.manage_idp client CLIENT_ID SECRET REDIRECT_URI
python -m tests.accounts.idp.manage_idp user USERNAME EMAIL PASSWORD [GROUP ...]
python -m tests.accounts.idp.manage_idp groups USERNAME [GROUP ...]
"""

import sys

import django

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from oidc_provider.models import Client, ResponseType  # noqa: E402


def client(client_id, secret, redirect_uri):
    row = Client.objects.create(
        name="Platform portal",
        client_type="confidential",
        client_id=client_id,
        client_secret=secret,
        _redirect_uris=redirect_uri,
        require_consent=False,
        reuse_consent=True,
    )
    row.response_types.add(ResponseType.objects.get(value="code"))


def user(username, email, password, *groups):
    person = User.objects.create_user(username=username, email=email, password=password, first_name=username.title())
    set_groups(username, *groups)
    return person


def set_groups(username, *groups):
    person = User.objects.get(username=username)
    person.groups.set([Group.objects.get_or_create(name=name)[0] for name in groups])


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"client": client, "user": user, "groups": set_groups}[command](*args)

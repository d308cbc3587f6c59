"""`manage.py sandbox_cluster`: run the sandbox cluster on its own. It touches no database.

A development tool like the sandbox itself: .dockerignore keeps this command out of the production image.
"""

from django.core.management.base import BaseCommand, CommandError

from sandbox.__main__ import add_arguments
from sandbox.server import run


class Command(BaseCommand):
    help = "Run the sandbox Kubernetes cluster (plain HTTP) until interrupted."
    requires_system_checks = ()
    requires_migrations_checks = False

    def add_arguments(self, parser):
        add_arguments(parser)

    def handle(self, *args, host, port, state_file, ready_after, **options):
        try:
            run(host, port, state_file=state_file, ready_after=ready_after, announce=self.stdout.write)
        except (ValueError, OSError) as error:
            raise CommandError(str(error)) from None

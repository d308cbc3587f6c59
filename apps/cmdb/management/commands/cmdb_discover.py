"""manage.py cmdb_discover [--cluster NAME]: run discovery now, in this process."""

from django.core.management.base import BaseCommand, CommandError

from apps.clusters.models import Cluster
from apps.cmdb.discovery import discover


class Command(BaseCommand):
    help = "Discover what each registered cluster (or one) runs, into the CMDB."

    def add_arguments(self, parser):
        parser.add_argument("--cluster", help="Only this cluster (its name).")

    def handle(self, *args, cluster=None, **options):
        clusters = Cluster.objects.all()
        if cluster:
            clusters = clusters.filter(name=cluster)
            if not clusters.exists():
                raise CommandError(f"No cluster called {cluster}.")
        for each in clusters:
            run = discover(each)
            outcome = f"failed: {run.error}" if run.error else ", ".join(f"{k} {v}" for k, v in run.counts.items())
            self.stdout.write(f"{each.name}: {outcome}")

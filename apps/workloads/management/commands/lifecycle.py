"""`manage.py lifecycle`: keep workload rows current from the clusters' watch streams (watcher.py)."""

import signal
import threading

from django.core.management.base import BaseCommand

from apps.workloads.watcher import Watcher


class Command(BaseCommand):
    help = "Watch every cluster and keep each workload's live state, health and drift current."

    def handle(self, *args, **options):
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        Watcher(stop=stop).run()

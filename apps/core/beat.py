"""The beat scheduler: django_celery_beat's, sending only from the replica that holds the `beat` lease.

Beat runs with two replicas so that losing one does not stop the periodic jobs; without a leader both
would send every job twice. A standby's ticks only ask for the lease; the leader checks its fencing
token before each send, so a leader frozen past its lease and woken after a takeover sends nothing.
"""

from __future__ import annotations

from django_celery_beat.schedulers import DatabaseScheduler

from .leases import STANDBY_POLL_SECONDS, Leadership, LeaseLost

LEASE = "beat"


class LeaderScheduler(DatabaseScheduler):
    def __init__(self, *args, **kwargs):
        self.leadership = Leadership(LEASE)
        super().__init__(*args, **kwargs)

    def tick(self, *args, **kwargs):
        if not self.leadership.try_lead():
            return STANDBY_POLL_SECONDS
        return min(super().tick(*args, **kwargs), self.leadership.seconds / 3)

    def apply_entry(self, entry, producer=None):
        try:
            self.leadership.fence()
        except LeaseLost:
            return  # the replica that leads now sends it
        super().apply_entry(entry, producer=producer)

    def close(self):
        super().close()
        self.leadership.release()

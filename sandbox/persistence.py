"""The optional state file, so a local run keeps its demo cluster across restarts.

The snapshot is encoded on the event loop (where the store is consistent) and written from a
worker thread to a temporary file that then replaces the old one, so a crash never leaves half a
file behind.
"""

import asyncio
import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


class StateFile:
    def __init__(self, path: str | os.PathLike, interval: float = 1.0):
        self.path = Path(path)
        self.interval = interval

    def load(self) -> dict | None:
        if not self.path.exists():
            return None
        try:
            return json.loads(self.path.read_text())
        except ValueError as error:
            raise ValueError(
                f"the sandbox state file {self.path} is not valid JSON ({error}); move it away to "
                "start with an empty cluster"
            ) from None

    def _write(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_bytes(data)
        os.replace(temporary, self.path)

    async def save(self, store) -> None:
        data = json.dumps(store.snapshot(), separators=(",", ":")).encode()
        store.dirty = False
        await asyncio.to_thread(self._write, data)

    async def keep_saving(self, store) -> None:
        """Save whenever something changed, at most once per interval."""
        while True:
            await asyncio.sleep(self.interval)
            if store.dirty:
                try:
                    await self.save(store)
                except OSError:
                    log.exception("could not write the sandbox state file %s", self.path)

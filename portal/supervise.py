"""Keep one process of the local stack running: restart it when it dies, stop it when told to.

`make run` starts web, worker, beat and the sandbox under honcho, which stops every process when one
exits. Production restarts a dead process (Kubernetes does); locally each process runs under this
supervisor, which restarts it after a back-off (1 s, doubling to 30 s; back to 1 s once it has run
for a minute) and says so in the log stream. SIGINT and SIGTERM (Ctrl-C, or honcho stopping the
stack) are passed on to the process and end the supervisor without a restart.

    python -m portal.supervise NAME -- COMMAND [ARG ...]
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

FIRST_BACKOFF, MAX_BACKOFF, HEALTHY_AFTER = 1.0, 30.0, 60.0


def supervise(name: str, argv: list[str]) -> int:
    stopping = False
    child: subprocess.Popen | None = None

    def stop(signum, _frame):
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    backoff = FIRST_BACKOFF
    while True:
        started = time.monotonic()
        child = subprocess.Popen(argv)
        code = child.wait()
        if stopping:
            return code
        backoff = FIRST_BACKOFF if time.monotonic() - started > HEALTHY_AFTER else backoff
        print(f"supervise | {name} exited with {_describe(code)}; restarting in {backoff:g} s", flush=True)
        deadline = time.monotonic() + backoff
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
        if stopping:
            return code
        backoff = min(backoff * 2, MAX_BACKOFF)


def _describe(code: int) -> str:
    if code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"code {code}"


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    return supervise(argv[0], argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""`python -m sandbox`: the sandbox cluster on its own, without Django."""

import argparse

from .server import run


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    add_arguments(parser)
    options = parser.parse_args(argv)
    try:
        run(options.host, options.port, state_file=options.state_file, ready_after=options.ready_after)
    except (ValueError, OSError) as error:
        parser.exit(1, f"sandbox cluster: {error}\n")


def add_arguments(parser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8001, help="port to listen on (default 8001)")
    parser.add_argument("--state-file", help="keep the cluster's objects in this JSON file across restarts")
    parser.add_argument(
        "--ready-after", type=float, default=0.3, help="seconds from a pod's creation to Ready (default 0.3)"
    )


if __name__ == "__main__":
    main()

"""``python -m actors bench``: the options, and which runner they go to.

Without ``--compare`` the headline table runs (``runner``); ``--compare``
runs the checkout's ``bench/compare/runner.py`` (see ``checkout``), or
exits with status 2 and says that it needs a checkout.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from . import checkout, runner

EPILOG = (
    "From an installed wheel the table has actors' own workloads against the asyncio "
    "baseline. The Erlang/OTP and pykka columns and --compare use the peers' versions in "
    "the repository's bench/compare/, so they need a checkout of the repository: run from "
    f"its root, or set {checkout.ENV_VAR} to its bench/ directory. Without one, the header "
    "says so and those columns show n/a.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of ``python -m actors bench`` to ``p``."""
    p.epilog = EPILOG
    p.add_argument("--rounds", type=int, default=None, metavar="N",
                   help=f"runs per system and workload; the table shows medians "
                        f"(default {runner.DEFAULT_ROUNDS}, {runner.QUICK_ROUNDS} with --quick)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: the same workloads with scaled-down counts")
    p.add_argument("--only", metavar="NAME[,NAME]",
                   help="run only these workloads (see --list)")
    p.add_argument("--json", metavar="PATH", help="also write every sample and the metadata here")
    p.add_argument("--no-erlang", action="store_true", help="skip Erlang/OTP even if erl is on PATH")
    p.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio",
                   help="event loop for actors and the asyncio baseline (default asyncio)")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    p.add_argument("--compare", action="store_true",
                   help="compare actors with every installed peer (asyncio, asyncio+uvloop, "
                        "gevent, pykka, thespian, Erlang with +S 1 and with default "
                        "schedulers; pip install \"actors-otp[compare]\"). --compare needs a "
                        "checkout of the repository: run it from the repo root")
    p.add_argument("--plot", metavar="PNG",
                   help="with --compare: draw a bar chart per workload (needs matplotlib)")


def main(args: argparse.Namespace, argv: Optional[List[str]] = None) -> int:
    """Run the headline table, or ``--compare`` from a checkout; returns the exit status."""
    if args.compare and not args.list:
        compare = checkout.import_peer("runner")
        if compare is None:
            print(f"actors bench: --compare {checkout.NEEDS_CHECKOUT}", file=sys.stderr)
            return 2
        status: int = compare.main(args, argv)
        return status
    if args.plot:
        print("actors bench: --plot needs --compare", file=sys.stderr)
        return 2
    return runner.main(args, argv)

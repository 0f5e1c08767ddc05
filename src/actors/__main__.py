"""``python -m actors COMMAND``: tools that ship with actors.

Commands: ``bench`` (benchmarks against asyncio; from a checkout, also
Erlang/OTP and the peers of ``--compare``), ``stress``
(crash storms, churn and floods, with exact counts and latencies), ``top``,
``epmd`` (an Erlang port mapper daemon, for hosts without Erlang). Each
command is a module exposing ``add_arguments(parser)`` and
``main(args, argv) -> int``; add one to ``COMMANDS`` to add a command.
``python -m actors --version`` prints ``actors-otp X.Y.Z``.
"""

import argparse
import importlib
import sys

from actors._version import DISTRIBUTION, __version__

# name -> (module, one-line help)
COMMANDS = {
    "bench": ("actors.benchmarks.cli",
              "benchmark actors against asyncio (and, from a checkout, Erlang/OTP and peers)"),
    "stress": ("actors.stress", "crash storms, churn and floods: exact counts, RSS and latencies"),
    "top": ("actors.top", "show the busiest processes of a running observer, like etop"),
    "epmd": ("actors.dist.epmd", "run an Erlang port mapper daemon (epmd), for hosts without Erlang"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m actors",
                                     description="Tools that ship with actors.")
    parser.add_argument("--version", action="version", version=f"{DISTRIBUTION} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (modname, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        mod = importlib.import_module(modname)
        mod.add_arguments(p)
        p.set_defaults(_module=mod)
    args = parser.parse_args(argv)
    return args._module.main(args, argv) or 0


if __name__ == "__main__":
    sys.exit(main())

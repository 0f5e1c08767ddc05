"""Shared pieces of the reliability suite (``tests/stress``).

* ``LONG``: ``ACTORS_STRESS=long`` selects the long mode (about 10x the work,
  10^6 churn operations, many more hypothesis examples); the default short
  mode keeps the whole directory under a minute on two cores.
* ``scale(short, long)`` picks a size for the mode.
* ``run_python(code)`` runs code in a fresh interpreter, so that a segfault or a
  hang fails one test instead of killing pytest.
* ``HYPOTHESIS``: the hypothesis settings of the suite.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import actors
from hypothesis import HealthCheck, settings

LONG = os.environ.get("ACTORS_STRESS", "short").lower() == "long"
LOOPS = ["asyncio", "uvloop"]


def scale(short, long):
    """``long`` in the long mode, else ``short``."""
    return long if LONG else short


HYPOTHESIS = settings(
    max_examples=scale(60, 2000),
    deadline=None,
    database=None,                      # nothing written into the checkout
    suppress_health_check=[HealthCheck.too_slow],
)

_SRC = os.path.dirname(os.path.dirname(os.path.abspath(actors.__file__)))


def run_python(code: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Run ``code`` (dedented) in a new interpreter that imports this ``actors``.

    Returns the completed process (``returncode`` -11 for a segfault); a run
    longer than ``timeout`` seconds is killed and reported as a hang.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_SRC, env.get("PYTHONPATH")]))
    try:
        return subprocess.run([sys.executable, "-X", "faulthandler", "-c", textwrap.dedent(code)],
                              capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(exc.cmd, "hang", exc.stdout or "", exc.stderr or "")


def describe(proc: subprocess.CompletedProcess) -> str:
    """How a ``run_python`` child ended, for assertion messages."""
    return f"exit status {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"

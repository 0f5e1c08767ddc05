"""Smoke test of an installed actors-otp wheel (no test extras needed).

Run it with the interpreter the wheel is installed in, from a directory outside
the source tree, so that ``import actors`` finds the installed package:
``.ci/package-smoke`` runs it on the wheel it builds, and cibuildwheel runs it
on every wheel it builds (``[tool.cibuildwheel] test-command``).

Checks: actors is imported from site-packages, its core is the compiled
extension, a ping-pong runs, ``actors.__version__`` is the installed metadata's
version of ``actors-otp``, ``python -m actors --version`` says so too, and the
package data (type stub, ``py.typed``, the observer's page) is installed.
Exits non-zero with a message on the first failure.
"""
from __future__ import annotations

import importlib.machinery
import importlib.metadata
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

DISTRIBUTION = "actors-otp"


def check(ok: object, what: str) -> None:
    if not ok:
        sys.exit(f"smoke test FAILED: {what}")
    print(f"ok: {what}")


def main() -> None:
    import actors
    import actors._core

    package = Path(actors.__file__).resolve().parent
    site = {Path(sysconfig.get_paths()[k]).resolve() for k in ("purelib", "platlib")}
    check(package.parent in site, f"actors is imported from site-packages ({package})")
    check(not (Path.cwd() / "src" / "actors").exists(), f"running outside the source tree ({Path.cwd()})")

    core = Path(actors._core.__file__)
    loader = getattr(actors._core, "__loader__", None)
    check(core.suffix in (".so", ".pyd") and isinstance(loader, importlib.machinery.ExtensionFileLoader),
          f"actors._core is the compiled extension ({core.name})")

    async def pong() -> None:
        while True:
            sender, n = await actors.receive()
            if n == 0:
                return
            actors.send(sender, n - 1)

    async def ping() -> int:
        pid = actors.spawn(pong)
        n, rounds = 1000, 0
        while n > 0:
            actors.send(pid, (actors.self(), n))
            n = await actors.receive(timeout=5.0)
            rounds += 1
        actors.send(pid, (actors.self(), 0))
        return rounds

    check(actors.run(ping) == 1000, "actors.run: a ping-pong of 1000 round trips")

    version = importlib.metadata.version(DISTRIBUTION)
    check(actors.__version__ == version,
          f"actors.__version__ == importlib.metadata.version({DISTRIBUTION!r}) == {version!r}")

    out = subprocess.run([sys.executable, "-m", "actors", "--version"], capture_output=True,
                         text=True, timeout=60, env=dict(os.environ, PYTHONPATH=""))
    check(out.returncode == 0 and out.stdout.strip() == f"{DISTRIBUTION} {version}",
          f"python -m actors --version prints {out.stdout.strip()!r}{out.stderr.strip() and ' ' + out.stderr.strip()}")

    for name in ("_core.pyi", "py.typed", "observer/static/index.html", "observer/static/app.js",
                 "observer/static/app.css"):
        check((package / name).is_file(), f"package data {name}")
    print(f"smoke test passed: {DISTRIBUTION} {version} on {sys.implementation.name} "
          f"{sys.version.split()[0]}, {sysconfig.get_platform()}")


if __name__ == "__main__":
    main()

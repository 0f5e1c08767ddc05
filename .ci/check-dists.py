"""Check the file lists of a built sdist and wheel: ``python .ci/check-dists.py DIST_DIR``.

The sdist must carry the core's sources and the test suite (the wheel is built
from it alone, and the suite runs from it); the wheel must hold the package
only: the compiled core and codec (actors.dist._etf), no generated C, no Cython
sources, no tests or bench.
Exits non-zero listing what is wrong.
"""
from __future__ import annotations

import re
import sys
import tarfile
import zipfile
from pathlib import Path

SDIST_MUST = [
    "pyproject.toml", "setup.py", "README.md", "LICENSE", "CHANGELOG.md", "PKG-INFO",
    "src/actors/_core.pyx", "src/actors/_core.pxd", "src/actors/_core_helpers.h",
    "src/actors/_core.pyi", "src/actors/py.typed", "src/actors/observer/static/index.html",
    "tests/conftest.py", "tests/helpers.py", "tests/stress/stresslib.py",
    "examples/kv/kv.py", "docs/api.md", "bench/compare/runner.py", "stubtest-allowlist.txt",
    ".ci/smoke.py", "src/actors/dist/_etf.pyx", "src/actors/dist/_etf.pyi",
]
SDIST_MUST_NOT = re.compile(r"(^src/actors/_core\.c$|^src/actors/dist/_etf\.c$|\.(so|pyd|o|pyc)$|__pycache__/)")

WHEEL_MUST = ["actors/__init__.py", "actors/_version.py", "actors/_core.pyi", "actors/py.typed",
              "actors/observer/static/index.html", "actors/observer/static/app.js",
              "actors/observer/static/app.css", "actors/dist/etf.py", "actors/dist/_etf.pyi"]
WHEEL_MUST_NOT = re.compile(r"\.(c|pyx|pxi|pxd|h)$")


def main(dist_dir: str) -> int:
    dist = Path(dist_dir)
    sdists, wheels = sorted(dist.glob("*.tar.gz")), sorted(dist.glob("*.whl"))
    problems: list[str] = []
    if len(sdists) != 1 or len(wheels) != 1:
        print(f"expected one sdist and one wheel in {dist}, found {sdists + wheels}")
        return 1

    with tarfile.open(sdists[0]) as tar:
        top = tar.getnames()[0].split("/")[0]
        sdist = {m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile() and "/" in m.name}
        pyx = tar.extractfile(f"{top}/src/actors/_core.pyx") if "src/actors/_core.pyx" in sdist else None
        pyx_text = pyx.read().decode() if pyx is not None else ""
    includes = [f"src/actors/{n}" for n in re.findall(r'^include "([^"]+)"', pyx_text, re.M)]
    problems += [f"sdist lacks {f}" for f in SDIST_MUST + includes if f not in sdist]
    problems += [f"sdist has {f}" for f in sorted(sdist) if SDIST_MUST_NOT.search(f)]
    if not top.startswith("actors_otp-"):
        problems.append(f"sdist is named {top}, not actors_otp-*")

    with zipfile.ZipFile(wheels[0]) as whl:
        wheel = set(whl.namelist())
    dist_info = next((n.split("/")[0] for n in wheel if n.split("/")[0].endswith(".dist-info")), "")
    problems += [f"wheel lacks {f}" for f in WHEEL_MUST if f not in wheel]
    if not any(re.fullmatch(r"actors/_core\.[^/]+\.(so|pyd)", f) for f in wheel):
        problems.append("wheel lacks the compiled core actors/_core.*.so|pyd")
    if not any(re.fullmatch(r"actors/dist/_etf\.[^/]+\.(so|pyd)", f) for f in wheel):
        problems.append("wheel lacks the compiled codec actors/dist/_etf.*.so|pyd")
    if f"{dist_info}/licenses/LICENSE" not in wheel:
        problems.append("wheel lacks its license file")
    problems += [f"wheel has {f}" for f in sorted(wheel) if WHEEL_MUST_NOT.search(f)]
    problems += [f"wheel has {f} (outside the package)" for f in sorted(wheel)
                 if f.split("/")[0] not in ("actors", dist_info)]
    if not dist_info.startswith("actors_otp-"):
        problems.append(f"wheel's metadata is {dist_info}, not actors_otp-*")

    for p in problems:
        print(f"FAILED: {p}")
    if not problems:
        print(f"ok: {sdists[0].name}: {len(sdist)} files, the core's sources ({len(includes)} .pxi) "
              f"and the test suite; no _core.c")
        print(f"ok: {wheels[0].name}: {len(wheel)} files, the package only "
              f"(no .c/.pyx/.pxi/.pxd/.h, no tests)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

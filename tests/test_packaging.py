"""The distribution: named ``actors-otp`` (``import actors``), one version, the
Apache-2.0 license, and an sdist that can build the wheel and run this suite.

These are the cheap checks. The expensive chain (build the sdist, the wheel from
the sdist alone, install it in a fresh venv, smoke-test it, check both file lists,
``twine check``) is ``.ci/package-smoke``, run by ``.ci/run``.
"""
from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.version import Version

import actors
import actors._version

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "actors-otp"


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _distribution_of_imported_actors() -> importlib.metadata.Distribution | None:
    """The installed distribution whose files hold the ``actors`` this test
    imports; None when it is imported from a source tree (``PYTHONPATH=src`` or
    an editable install)."""
    init = Path(actors.__file__).resolve()
    for dist in importlib.metadata.distributions():
        for f in dist.files or ():
            if f.parts == ("actors", "__init__.py") and Path(dist.locate_file(f)).resolve() == init:
                return dist
    return None


def test_the_version_has_one_source():
    """pyproject.toml reads the version from ``actors/_version.py`` (no literal of
    its own), ``actors.__version__`` is that value, it is a valid PEP 440 version,
    and no other module assigns a ``__version__``."""
    project = _pyproject()["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]
    dynamic = _pyproject()["tool"]["setuptools"]["dynamic"]
    assert dynamic["version"] == {"attr": "actors._version.__version__"}
    assert actors.__version__ == actors._version.__version__
    assert str(Version(actors.__version__)) == actors.__version__
    assigners = sorted(p.name for p in (ROOT / "src" / "actors").rglob("*.py")
                       if re.search(r"^__version__\s*[:=]", p.read_text(encoding="utf-8"), re.M))
    assert assigners == ["_version.py"]


def test_the_distribution_is_actors_otp():
    """The name to ``pip install`` is ``actors-otp`` (``actors`` on PyPI is another
    project); the package stays ``actors``."""
    assert _pyproject()["project"]["name"] == DISTRIBUTION == actors._version.DISTRIBUTION
    assert actors.__name__ == "actors"


def test_the_installed_metadata_matches_the_package():
    """An installed ``actors`` belongs to the distribution ``actors-otp`` at
    ``actors.__version__``, with its license file (``importlib.metadata`` agrees
    with the package). Imported from a source tree instead (``PYTHONPATH=src``,
    an editable install), there is no installed metadata for the code under
    test: then it must be this checkout's ``src/``, whose pyproject.toml is what
    metadata is built from (checked by the tests above)."""
    dist = _distribution_of_imported_actors()
    if dist is not None:
        assert dist.metadata["Name"] == DISTRIBUTION
        assert dist.version == actors.__version__
        assert importlib.metadata.version(DISTRIBUTION) == actors.__version__
        assert dist.metadata.get_all("License-File") == ["LICENSE"]
        assert dist.metadata["License-Expression"] == "Apache-2.0"
    else:
        package_dir = Path(actors.__file__).resolve().parent
        assert package_dir == ROOT / "src" / "actors", package_dir


def test_python_m_actors_version():
    """``python -m actors --version`` prints ``actors-otp X.Y.Z`` and exits 0."""
    where = str(Path(actors.__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [where, os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, "-m", "actors", "--version"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"actors-otp {actors.__version__}"


def test_the_license_is_apache_2_in_full():
    """LICENSE holds the whole Apache License 2.0 text, and pyproject.toml
    declares it (SPDX expression and license file)."""
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    for line in ("Apache License", "Version 2.0, January 2004",
                 "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION",
                 "9. Accepting Warranty or Additional Liability.", "END OF TERMS AND CONDITIONS"):
        assert line in text
    project = _pyproject()["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]


# -- what the sdist carries ---------------------------------------------------------

def _manifest_rules() -> list[tuple[str, list[str]]]:
    rules = []
    for line in (ROOT / "MANIFEST.in").read_text(encoding="utf-8").splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            rules.append((words[0], words[1:]))
    return rules


def _glob(pattern: str) -> re.Pattern[str]:
    """A MANIFEST.in pattern: ``*`` and ``?`` do not cross a ``/``."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and "]" in pattern[i + 1:]:
            j = pattern.index("]", i + 1)
            out.append(pattern[i:j + 1])
            i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


def _in_sdist(rel: str) -> bool:
    """Whether MANIFEST.in puts the file ``rel`` (a posix path from the root) in
    the sdist: its commands applied in order, as setuptools does."""
    dirs = ["/".join(rel.split("/")[:i]) for i in range(1, rel.count("/") + 1)]
    kept = False
    for command, args in _manifest_rules():
        if command == "include":
            kept = kept or any(_glob(a).fullmatch(rel) for a in args)
        elif command == "graft":
            kept = kept or any(d == a.rstrip("/") for a in args for d in dirs)
        elif command == "prune":
            kept = kept and not any(_glob(a.rstrip("/")).fullmatch(d) for a in args for d in dirs)
        elif command == "exclude":
            kept = kept and not any(_glob(a).fullmatch(rel) for a in args)
        elif command == "global-exclude":
            kept = kept and not any(_glob(a).fullmatch(rel.rsplit("/", 1)[-1]) for a in args)
        else:
            raise AssertionError(f"MANIFEST.in uses {command!r}: teach this test what it means")
    return kept


def _core_sources() -> list[str]:
    """The files the extension build reads: _core.pyx, its .pxd, the .pxi it
    includes and the headers of this tree that it declares."""
    pkg = ROOT / "src" / "actors"
    text = (pkg / "_core.pyx").read_text(encoding="utf-8") + (pkg / "_core.pxd").read_text(encoding="utf-8")
    names = ["_core.pyx", "_core.pxd"]
    names += re.findall(r'^include "([^"]+)"', text, re.M)
    names += [h for h in re.findall(r'cdef extern from "([^"<>]+)"', text) if (pkg / h).exists()]
    assert len(names) > 4 and "_core_helpers.h" in names
    return [f"src/actors/{n}" for n in names]


def _tree(*dirs: str) -> list[str]:
    """Source files under ``dirs`` (no caches, no build products)."""
    out = []
    for d in dirs:
        for p in (ROOT / d).rglob("*"):
            if (p.is_file() and "__pycache__" not in p.parts and not any(part.startswith(".") for part in p.parts[len(ROOT.parts):])
                    and p.suffix not in (".so", ".pyd", ".pyc", ".c") and not (p.suffix == ".html" and p.parent.name == "actors")):
                out.append(p.relative_to(ROOT).as_posix())
    return out


def test_the_sdist_can_build_the_wheel():
    """The sdist carries what building the wheel from it alone reads: the build
    configuration, the readme and license of the metadata, every Python module and
    data file of the package and every source of the compiled core; not the
    generated ``_core.c`` (the build regenerates it). cibuildwheel builds the
    wheels from the sdist, so it also carries their smoke test."""
    needed = ["pyproject.toml", "setup.py", "README.md", "LICENSE", *_core_sources(), *_tree("src/actors")]
    # cibuildwheel builds every wheel from the sdist and runs this smoke test on it
    assert _pyproject()["tool"]["cibuildwheel"]["test-command"] == "python {project}/.ci/smoke.py"
    needed.append(".ci/smoke.py")
    assert [f for f in needed if not _in_sdist(f)] == []
    assert not _in_sdist("src/actors/_core.c")
    assert _in_sdist("src/actors/dist/_etf.pyx") and not _in_sdist("src/actors/dist/_etf.c")
    assert not _in_sdist("src/actors/_core.cpython-311-x86_64-linux-gnu.so")


def test_the_sdist_can_run_the_test_suite():
    """The sdist carries the test suite and what it reads: tests/ (conftest,
    helpers, stress), the testpaths (examples/), bench/ (the --compare tests),
    docs/ (the docs tests), the stubtest allow-list, and the changelog."""
    testpaths = _pyproject()["tool"]["pytest"]["ini_options"]["testpaths"]
    needed = [*_tree("tests", "bench", "docs", *testpaths), "stubtest-allowlist.txt", "CHANGELOG.md"]
    assert "tests/conftest.py" in needed and "tests/stress/stresslib.py" in needed
    assert [f for f in needed if not _in_sdist(f)] == []


def test_the_wheel_holds_the_package_only():
    """The wheel's data files are exactly the declared package data (the stub,
    py.typed, the observer's page; each pattern matches a file), not whatever
    MANIFEST.in puts in the sdist: so none of the core's build inputs."""
    setuptools = _pyproject()["tool"]["setuptools"]
    assert setuptools["include-package-data"] is False
    assert setuptools["packages"]["find"] == {"where": ["src"], "include": ["actors", "actors.*"]}
    package_data = setuptools["package-data"]
    assert package_data == {"actors": ["*.pyi", "dist/*.pyi", "py.typed", "observer/static/*.html",
                                       "observer/static/*.js", "observer/static/*.css",
                                       "observer/static/*.svg"]}
    pkg = ROOT / "src" / "actors"
    assert all(list(pkg.glob(pattern)) for pattern in package_data["actors"])

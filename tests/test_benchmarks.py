"""actors.benchmarks: what ships in the package, and ``python -m actors bench``
as it runs from an installed wheel (no checkout of the repository at hand).

The peers (Erlang/OTP, pykka, gevent, thespian) and ``--compare`` live in the
repository's bench/compare, not in the package.
"""

import importlib.util
import os
import pathlib
import subprocess
import sys

import pytest

import actors.benchmarks
from actors.benchmarks import checkout


@pytest.mark.parametrize("name", ["compare", "impl_pykka", "impl_gevent", "impl_thespian",
                                  "impl_erlang", "registry"])
def test_the_package_holds_no_peers(name):
    """The peers' implementations, the comparison and the old registry module
    are not in actors.benchmarks."""
    assert importlib.util.find_spec(f"actors.benchmarks.{name}") is None


def test_the_package_holds_no_erlang_source():
    """bench.erl is in the repository's bench/compare, not in the package."""
    package_dir = pathlib.Path(actors.benchmarks.__file__).parent
    assert list(package_dir.rglob("*.erl")) == []


def _bench(args, cwd, timeout=120):
    """``python -m actors bench ARGS`` run in ``cwd``, without ACTORS_BENCH_DIR."""
    env = {k: v for k, v in os.environ.items() if k != checkout.ENV_VAR}
    src = str(pathlib.Path(actors.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.run([sys.executable, "-m", "actors", "bench", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_help_says_that_compare_needs_a_checkout(tmp_path):
    """``python -m actors bench --help`` says where --compare (and Erlang) come from."""
    out = _bench(["--help"], tmp_path)
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())
    assert "--compare needs a checkout of the repository: run it from the repo root" in text
    assert checkout.ENV_VAR in text


def test_compare_without_a_checkout_says_what_to_do(tmp_path):
    """Away from a checkout, --compare exits with status 2 and a clear message."""
    out = _bench(["--compare", "--quick"], tmp_path)
    assert out.returncode == 2
    assert "--compare needs a checkout of the repository: run it from the repo root" in out.stderr


def test_the_headline_table_runs_without_a_checkout(tmp_path):
    """From a wheel the table has actors and the asyncio baseline; the header
    says why Erlang and pykka did not run."""
    out = _bench(["--quick", "--rounds", "1", "--only", "request-reply"], tmp_path)
    assert out.returncode == 0, out.stderr
    header = out.stdout.split("\n\n")[0]
    assert "erlang:   not run: the Erlang/OTP column needs a checkout" in header
    assert "pykka:    not run: its column needs a checkout" in header
    row = next(line for line in out.stdout.splitlines() if line.startswith("request-reply "))
    assert "ERROR" not in row and row.split()[2] != "-"


def test_bench_dir_is_found_from_the_repo_root_or_the_env_var(tmp_path, monkeypatch):
    """checkout.bench_dir(): ACTORS_BENCH_DIR, else ./bench, and only if it holds compare/."""
    repo_bench = pathlib.Path(__file__).resolve().parents[1] / "bench"
    monkeypatch.delenv(checkout.ENV_VAR, raising=False)
    monkeypatch.chdir(repo_bench.parent)
    assert checkout.bench_dir() == repo_bench
    monkeypatch.chdir(tmp_path)
    assert checkout.bench_dir() is None
    monkeypatch.setenv(checkout.ENV_VAR, str(repo_bench))
    assert checkout.bench_dir() == repo_bench
    monkeypatch.setenv(checkout.ENV_VAR, str(tmp_path))
    assert checkout.bench_dir() is None

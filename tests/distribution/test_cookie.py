"""The cookie file (issue 11, docs/api.md section 8: ``cookie=None``).

Rules tested, from OTP 25's ``auth.erl`` and checked against a real ``erl``:
a missing ``~/.erlang.cookie`` is created owner-only (mode 0600 from the
start, whatever the umask, never through a planted symlink) with a random
cookie of at least 128 bits; ``$XDG_CONFIG_HOME/erlang/.erlang.cookie`` is
the fallback; a file that group or others may access is refused with erl's
words, and so are an empty file, bad characters and non-regular files; the
cookie is read exactly as erl reads it (a trailing newline is dropped, a
space before it is kept); ``erl`` and :func:`read_cookie` agree on the cookie
in every case, whichever of the two created the file.
"""
from __future__ import annotations

import math
import os
import stat
import string
import sys
from pathlib import Path

import pytest

from actors.dist.cookie import (
    MAX_COOKIE_LENGTH,
    CookieFileError,
    check_cookie,
    cookie_paths,
    read_cookie,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from erlnode import EPMD, ERL, Epmd, ErlNode


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home directory as ``$HOME``, an empty ``$XDG_CONFIG_HOME``
    beside it, and umask 022 (restored afterwards)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    old = os.umask(0o022)
    yield home
    os.umask(old)


def write(path: Path, data: bytes, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)
    return path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- creating the file --------------------------------------------------------------

def test_a_missing_cookie_file_is_created_owner_only_with_a_random_cookie(home):
    cookie = read_cookie()
    path = home / ".erlang.cookie"
    assert path.read_text() == cookie                     # no newline: erl writes none
    assert mode_of(path) == 0o600
    assert set(cookie) <= set(string.ascii_uppercase)     # erl's own alphabet
    assert len(cookie) * math.log2(26) >= 128             # at least 128 bits
    assert read_cookie() == cookie                        # then it is read, not remade


def test_each_new_cookie_file_gets_its_own_cookie(tmp_path):
    cookies = {read_cookie(tmp_path / f"c{i}") for i in range(20)}
    assert len(cookies) == 20


def test_the_new_file_is_owner_only_from_the_start_whatever_the_umask(home):
    """Made with mode 0600 at creation: a permissive umask (0) cannot make
    it readable by others, not even for an instant before a chmod."""
    os.umask(0)
    read_cookie()
    assert mode_of(home / ".erlang.cookie") == 0o600


def test_a_planted_symlink_is_not_followed_to_create_a_file(home, tmp_path):
    """Someone who can write the directory plants ~/.erlang.cookie -> a file
    of theirs: no cookie is written through it."""
    target = tmp_path / "attacker" / "stolen"
    target.parent.mkdir()
    (home / ".erlang.cookie").symlink_to(target)
    with pytest.raises(FileNotFoundError):
        read_cookie()
    assert not target.exists()


def test_an_explicit_path_is_created_too(tmp_path):
    path = tmp_path / "cluster.cookie"
    cookie = read_cookie(path)
    assert path.read_text() == cookie and mode_of(path) == 0o600
    assert read_cookie(str(path)) == cookie


# -- finding and reading it ---------------------------------------------------------------

def test_the_default_file_follows_home(home, tmp_path, monkeypatch):
    assert cookie_paths() == [home / ".erlang.cookie",
                              tmp_path / "xdg" / "erlang" / ".erlang.cookie"]
    write(home / ".erlang.cookie", b"MINE")
    assert read_cookie() == "MINE"
    other = tmp_path / "other"
    write(other / ".erlang.cookie", b"OTHER")
    monkeypatch.setenv("HOME", str(other))
    assert read_cookie() == "OTHER"


def test_the_xdg_file_is_read_when_home_has_none(home, tmp_path):
    write(tmp_path / "xdg" / "erlang" / ".erlang.cookie", b"FROMXDG\n")
    assert read_cookie() == "FROMXDG"
    assert not (home / ".erlang.cookie").exists()         # nothing created


def test_the_home_file_wins_over_the_xdg_one(home, tmp_path):
    write(tmp_path / "xdg" / "erlang" / ".erlang.cookie", b"FROMXDG")
    write(home / ".erlang.cookie", b"FROMHOME")
    assert read_cookie() == "FROMHOME"


@pytest.mark.parametrize(("data", "cookie"), [
    (b"secret", "secret"),
    (b"secret\n", "secret"),
    (b"secret\r\n\n", "secret"),
    (b"secret \n", "secret "),            # erl keeps the space before the newline
    (b"two words", "two words"),
    (b" ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}", " ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}"),
    (b"x" * MAX_COOKIE_LENGTH, "x" * MAX_COOKIE_LENGTH),
])
def test_the_cookie_is_read_as_erl_reads_it(tmp_path, data, cookie):
    assert read_cookie(write(tmp_path / "c", data)) == cookie


def test_an_owner_read_only_file_is_fine(tmp_path):
    """0400 is what erl itself creates."""
    assert read_cookie(write(tmp_path / "c", b"RO", 0o400)) == "RO"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o602, 0o610, 0o601, 0o644, 0o666])
def test_a_file_group_or_others_may_access_is_refused(tmp_path, mode):
    path = write(tmp_path / "c", b"secret", mode)
    with pytest.raises(CookieFileError, match="must be accessible by owner only") as caught:
        read_cookie(path)
    assert str(path) in str(caught.value) and caught.value.path == str(path)
    assert f"chmod 600 {path}" in str(caught.value)


@pytest.mark.parametrize(("data", "words"), [
    (b"", "empty"),
    (b"\n", "empty"),
    (b"abc\ndef", "bad characters"),
    (b"abc\tdef", "bad characters"),
    (b"caf\xc3\xa9", "bad characters"),
    (b"x" * (MAX_COOKIE_LENGTH + 1), "at most 255"),
])
def test_a_file_without_a_valid_cookie_is_refused(tmp_path, data, words):
    path = write(tmp_path / "c", data)
    with pytest.raises(CookieFileError, match=words) as caught:
        read_cookie(path)
    assert str(path) in str(caught.value)


def test_a_directory_or_a_fifo_is_refused_without_hanging(tmp_path):
    (tmp_path / "dir").mkdir(mode=0o700)
    with pytest.raises(CookieFileError, match="not a regular file"):
        read_cookie(tmp_path / "dir")
    os.mkfifo(tmp_path / "fifo", 0o600)
    with pytest.raises(CookieFileError, match="not a regular file"):
        read_cookie(tmp_path / "fifo")


def test_read_cookie_checks_its_argument():
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, not int"):
        read_cookie(3)                                            # type: ignore[arg-type]


# -- cookies given by the user ------------------------------------------------------------

@pytest.mark.parametrize("value", ["secret", b"secret", "a b", "~" * 255, b"!"])
def test_check_cookie_accepts_printable_ascii(value):
    assert check_cookie(value) is value


@pytest.mark.parametrize(("value", "error", "words"), [
    (None, TypeError, "cookie must be a str or bytes, not NoneType"),
    (123, TypeError, "cookie must be a str or bytes, not int"),
    ("", ValueError, "cookie must not be empty"),
    (b"", ValueError, "cookie must not be empty"),
    ("x" * 256, ValueError, "cookie is 256 characters long"),
    ("secret\n", ValueError, r"printable ASCII.*'\\n'"),
    ("café", ValueError, "printable ASCII.*'é'"),
    (b"\xff", ValueError, "printable ASCII"),
    ("a\x00b", ValueError, "printable ASCII"),
])
def test_check_cookie_refuses_what_erl_cannot_share(value, error, words):
    with pytest.raises(error, match=words):
        check_cookie(value)


def test_check_cookie_names_the_argument():
    with pytest.raises(TypeError, match="^node_cookie must be"):
        check_cookie(1.5, "node_cookie")


# -- with a real erl ------------------------------------------------------------------

needs_erl = pytest.mark.skipif(ERL is None or EPMD is None,
                               reason="Erlang/OTP (erl, epmd) is not installed")


@pytest.fixture(scope="module")
def epmd():
    if ERL is None or EPMD is None:
        pytest.skip("Erlang/OTP (erl, epmd) is not installed")
    daemon = Epmd()
    yield daemon
    daemon.stop()


@pytest.fixture
def erl_with_home(epmd, home, tmp_path):
    """``start()`` runs an erl node without -setcookie whose $HOME is ``home``
    (a refused cookie file stops it with a crash dump, kept in ``tmp_path``);
    it is stopped (by pid) when the test ends."""
    nodes: list[ErlNode] = []

    def start() -> ErlNode:
        node = ErlNode(f"ck{len(nodes)}x{epmd.port}@127.0.0.1", cookie=None, epmd=epmd,
                       env={"HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
                            "ERL_CRASH_DUMP": str(tmp_path / "erl_crash.dump")})
        nodes.append(node)
        return node

    yield start
    for node in nodes:
        node.stop()


@needs_erl
def test_erl_reads_the_cookie_file_we_created(home, erl_with_home):
    cookie = read_cookie()
    assert erl_with_home().eval("erlang:get_cookie()") == f"'{cookie}'"


@needs_erl
def test_we_read_the_cookie_file_erl_created(home, erl_with_home):
    erl_cookie = erl_with_home().eval("atom_to_list(erlang:get_cookie())")
    assert mode_of(home / ".erlang.cookie") == 0o400
    assert f'"{read_cookie()}"' == erl_cookie


@needs_erl
@pytest.mark.parametrize("data", [b"secret cookie \r\n", b"x\n\n", b"A~b c", b"z" * 255])
def test_erl_and_we_read_a_cookie_file_alike(home, erl_with_home, data):
    write(home / ".erlang.cookie", data)
    ours = read_cookie()
    assert erl_with_home().eval("atom_to_list(erlang:get_cookie())") == \
        '"' + ours.replace("\\", "\\\\").replace('"', '\\"') + '"'


@needs_erl
def test_erl_reads_the_xdg_file_as_we_do(home, erl_with_home, tmp_path):
    write(tmp_path / "xdg" / "erlang" / ".erlang.cookie", b"FROMXDG\n")
    assert erl_with_home().eval("erlang:get_cookie()") == f"'{read_cookie()}'"


@needs_erl
@pytest.mark.parametrize(("data", "mode", "erl_says"), [
    (b"secret", 0o640, "must be accessible by owner only"),
    (b"", 0o600, "Too short cookie string"),
    (b"abc\ndef", 0o600, "Bad characters in cookie"),
])
def test_erl_and_we_refuse_the_same_files(home, erl_with_home, data, mode, erl_says):
    write(home / ".erlang.cookie", data, mode)
    with pytest.raises(CookieFileError):
        read_cookie()
    with pytest.raises(RuntimeError, match=erl_says):        # erl does not start
        erl_with_home()

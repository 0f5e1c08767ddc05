"""The Erlang cookie: the ``~/.erlang.cookie`` file, read and made as ``erl`` does.

Design notes
------------
Nodes of a cluster share a secret, the cookie, and prove they know it in
the handshake.  A node started without one (``erl`` without ``-setcookie``,
``Node.start(cookie=None)``) takes it from a file, by OTP's rules
(``lib/kernel/src/auth.erl``, OTP 25):

* the file is ``$HOME/.erlang.cookie``; if that does not exist,
  ``$XDG_CONFIG_HOME/erlang/.erlang.cookie`` (``filename:basedir(user_config,
  "erlang")``); if neither exists, ``$HOME/.erlang.cookie`` is created with a
  random cookie;
* the file must be a regular file that only its owner may access: any
  permission bit for group or others (``mode & 0o077``) refuses it, with
  ``erl``'s words ("Cookie file ... must be accessible by owner only");
* the cookie is the file's printable ASCII text (``" "`` to ``"~"``) up to
  the first other byte; after it only line breaks and spaces may follow
  (ignored), anything else refuses the file ("Bad characters in cookie"), and
  an empty cookie too ("Too short cookie string").  So ``"abc\\n"`` is
  ``abc``, but ``"abc \\n"`` is ``"abc "``: erl keeps a space typed before the
  newline, and so does :func:`read_cookie`, or the two would disagree.

A new file is made the safe way: ``os.open`` with ``O_CREAT | O_EXCL`` and
mode ``0o600`` creates it owner-only from its first instant (no moment when
another user could read it) and never follows a planted symlink; if another
process creates it first, that one is read.  Its cookie is 32 uppercase
letters from :mod:`secrets` (about 150 bits; erl writes 20 letters, about
94 bits, from a clock-seeded generator), which erl reads as it reads its own.

:func:`check_cookie` validates a cookie given by the user: 1 to 255
printable ASCII characters, as ``str`` or ``bytes``.  That is what erl reads
from a cookie file and can hold in an atom (at most 255 characters), and a
cookie that reads the same whatever way it reaches erl (file,
``-setcookie``, ``erlang:set_cookie/2``).

This module imports nothing from ``actors``.
"""
from __future__ import annotations

import os
import secrets
import stat
import string
import sys
from pathlib import Path

__all__ = ["COOKIE_FILE", "MAX_COOKIE_LENGTH", "CookieFileError", "check_cookie",
           "cookie_paths", "read_cookie"]

#: the cookie file's name, in the home directory
COOKIE_FILE = ".erlang.cookie"
#: the longest cookie: an atom holds at most 255 characters
MAX_COOKIE_LENGTH = 255
#: letters in a cookie this module creates (about 150 bits)
_NEW_COOKIE_LETTERS = 32
#: the largest cookie file read (a cookie and some trailing blank lines)
_MAX_FILE_SIZE = 64 * 1024


class CookieFileError(OSError):
    """A cookie file that cannot be used: others may read it, it is not a
    regular file, or it holds no valid cookie.  ``path`` names it."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


def check_cookie(value: object, what: str = "cookie") -> str | bytes:
    """``value``, checked to be a cookie: ``str`` or ``bytes`` of 1 to 255
    printable ASCII characters (``" "`` to ``"~"``).

    Raises:
        TypeError: not ``str`` or ``bytes``.
        ValueError: empty, longer than 255, or another character (a
            newline read from a file along with the cookie, say).
    """
    if isinstance(value, bytes):
        text = value.decode("latin-1")
    elif isinstance(value, str):
        text = value
    else:
        raise TypeError(f"{what} must be a str or bytes, not {type(value).__name__}")
    if not text:
        raise ValueError(f"{what} must not be empty")
    if len(text) > MAX_COOKIE_LENGTH:
        raise ValueError(f"{what} is {len(text)} characters long; an Erlang cookie has at "
                         f"most {MAX_COOKIE_LENGTH}")
    bad = next((ch for ch in text if not " " <= ch <= "~"), None)
    if bad is not None:
        raise ValueError(f"{what} may hold only printable ASCII characters (' ' to '~'), "
                         f"found {bad!r}")
    return value


def cookie_paths() -> list[Path]:
    """The files :func:`read_cookie` looks at, in order, as ``erl`` does:
    ``$HOME/.erlang.cookie`` (if there is a home directory), then
    ``$XDG_CONFIG_HOME/erlang/.erlang.cookie``."""
    paths: list[Path] = []
    home = os.path.expanduser("~")
    if home != "~":
        paths.append(Path(home) / COOKIE_FILE)
    paths.append(_user_config_dir() / "erlang" / COOKIE_FILE)
    return paths


def read_cookie(path: str | os.PathLike[str] | None = None) -> str:
    """The cookie in a cookie file, which is created if missing.

    Args:
        path: the file; by default, ``erl``'s: ``~/.erlang.cookie`` (``$HOME``
            decides ``~``), else ``$XDG_CONFIG_HOME/erlang/.erlang.cookie``;
            if neither exists, ``~/.erlang.cookie`` is created.

    Returns:
        The cookie, as ``erl`` reads it (see the module notes).

    Raises:
        TypeError: ``path`` is not a path.
        CookieFileError: group or others may access the file, it is not a
            regular file, or it holds no valid cookie.
        OSError: the file cannot be read or created.
    """
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or os.PathLike, not {type(path).__name__}")
        candidates = [Path(path)]
    else:
        candidates = cookie_paths()
    for candidate in candidates:
        try:
            return _read(candidate)
        except FileNotFoundError:
            continue
    return _create(candidates[0])


def _read(path: Path) -> str:
    # O_NONBLOCK: a FIFO planted there must not block the open (fstat refuses it)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CookieFileError(f"Cookie file {path} is not a regular file", str(path))
        if os.name == "posix" and info.st_mode & 0o077:
            raise CookieFileError(
                f"Cookie file {path} must be accessible by owner only (its mode is "
                f"{stat.S_IMODE(info.st_mode):04o}; run: chmod 600 {path})", str(path))
        with os.fdopen(os.dup(fd), "rb") as file:
            data = file.read(_MAX_FILE_SIZE + 1)
    finally:
        os.close(fd)
    return _parse(data, path)


def _parse(data: bytes, path: Path) -> str:
    end = 0
    while end < len(data) and 0x20 <= data[end] <= 0x7E:
        end += 1
    if data[end:].strip(b"\r\n "):
        raise CookieFileError(f"Cookie file {path}: bad characters in cookie (only printable "
                              f"ASCII, then line breaks)", str(path))
    if end == 0:
        raise CookieFileError(f"Cookie file {path} is empty: it must hold the cookie",
                              str(path))
    if end > MAX_COOKIE_LENGTH:
        raise CookieFileError(f"Cookie file {path}: the cookie is {end} characters long; an "
                              f"Erlang cookie has at most {MAX_COOKIE_LENGTH}", str(path))
    return data[:end].decode("ascii")


def _create(path: Path) -> str:
    cookie = "".join(secrets.choice(string.ascii_uppercase) for _ in range(_NEW_COOKIE_LETTERS))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        return _read(path)                 # another process made it first
    try:
        data = cookie.encode("ascii")
        while data:
            data = data[os.write(fd, data):]
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)
    return cookie


def _user_config_dir() -> Path:
    # filename:basedir(user_config, Name) without the Name
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path(os.path.expanduser("~")) / ".config")


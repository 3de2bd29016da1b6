"""What the two entry points (the CLI and the action) share about their process and log.

- :func:`printable`: a value (a path, a claim) shown on one line, with every character a
  terminal or a CI log reader could act on escaped.
- :func:`inert`: text printed into a CI log can never act as a log command.
- :func:`guard_process`: a cancelled run (CI runners stop a step with SIGTERM; a closed
  terminal sends SIGHUP) unwinds like an exception, so temporary and key files are
  removed on the way out, and a crash leaves no core file holding the key.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import sys
from collections.abc import Iterator

# Characters no value may print raw: C0 controls (a line break, "\r" included, starts a line
# the runner parses for "::error::" or "::stop-commands::"; ESC starts a terminal escape), DEL,
# C1 controls (U+0085 is a line break to .NET, U+009B a CSI), lone surrogates, the Unicode line
# and paragraph separators, and the bidi embeddings, overrides and isolates that make a line
# read other than it is (Trojan Source).
_UNSAFE = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE_IN_VALUE = re.compile(f"[{_UNSAFE}]")
# The same within text of several lines: "\n" separates them, every other one is escaped.
_UNSAFE_IN_TEXT = re.compile(f"(?!\n)[{_UNSAFE}]")
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# CI log commands a runner acts on wherever they appear in a line: GitHub's old
# ``##[set-output ...]`` / ``##[stop-commands]`` (actions/runner ActionCommand.TryParse),
# Azure's ``##vso[...]``, TeamCity's ``##teamcity[...]``. All start with "##". The runner
# searches with a culture-sensitive IndexOf, which skips characters of no weight (U+FE0F,
# U+200B, U+00AD, ...): "#\ufe0f#[" is "##[" to it, so a "#" followed by another one after
# only non-ASCII characters is broken up too.
_DOUBLE_HASH = re.compile(r"#(?=[^\x00-\x7f]*#)")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _SHORT_ESCAPES.get(char) or f"\\u{ord(char):04x}"


def printable(value: object) -> str:
    """``value`` as text for one line of output: every control character (line breaks
    included), DEL, C1 control, Unicode line separator and bidi control becomes a JSON-style
    escape (``\\n``, ``\\u001b``, ``\\u202e``), so a path or claim holding
    "\\n::error::x" or a terminal escape shows as what it is and does nothing. Other
    characters, "é" included, are kept."""
    return _UNSAFE_IN_VALUE.sub(_escape, str(value))


def inert(text: str) -> str:
    """``text`` as every line the CLI and the action print goes out: each control
    character but the line breaks ``text`` is made of escaped as :func:`printable` does,
    then every "##" broken up, so no value we print (a claim of a token being decoded, a
    path, a scope entry, an audience) can act as a CI command or a terminal escape. The
    escapes are JSON's, so JSON output stays valid and reads back the same. A value that
    may hold a line break of its own goes through :func:`printable` first."""
    return _DOUBLE_HASH.sub(lambda _: "\\u0023", _UNSAFE_IN_TEXT.sub(_escape, text))


def reaches_the_log(stream: object) -> bool:
    """Could a CI runner read what is written to ``stream``? Not when it is closed or /dev/null.

    Mask commands must go where the runner reads: one dropped silently leaves the
    token it was for in clear in the log.
    """
    if stream is None:
        return False
    try:
        info = os.fstat(stream.fileno())  # type: ignore[attr-defined]
        null = os.stat(os.devnull)
    except (OSError, ValueError, AttributeError):
        return False
    return not (stat.S_ISCHR(info.st_mode) and info.st_rdev == null.st_rdev)


def settle_streams() -> None:
    """Flush stdout and stderr; if one cannot take it (closed reader, full disk), drop what is left.

    Python would otherwise fail flushing at exit and print a traceback (exit 120)
    after the run has already reported its outcome.
    """
    for stream in (sys.stdout, sys.stderr):
        if stream is None:
            continue
        try:
            stream.flush()
        except (OSError, ValueError):
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
            except (OSError, ValueError):
                pass


_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGTERM, SIGINT and SIGHUP off while the block runs; one that came meanwhile is delivered after.

    For what must happen whole or not at all: a cancel between two file-command
    appends would leave GITHUB_OUTPUT written and GITHUB_ENV not. (POSIX; on
    Windows the block just runs.)
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def stop_pending() -> bool:
    """Inside :func:`signals_held`: has a cancel (SIGTERM, SIGINT, SIGHUP) come meanwhile?"""
    if not hasattr(signal, "sigpending"):
        return False
    return bool(set(signal.sigpending()) & set(_STOP_SIGNALS))


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def guard_process() -> None:
    """Prepare a process that will hold the key.

    SIGTERM and SIGHUP become ``SystemExit(143)`` / ``SystemExit(129)``, so
    ``finally`` and cleanup handlers run (SIGINT already raises KeyboardInterrupt:
    exit 130). Core dumps are switched off: a core file is a copy of memory, key
    included, written where anyone who can read the directory finds it.
    """
    signal.signal(signal.SIGTERM, _raise_exit)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, _raise_exit)
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):  # Windows has no resource module
        pass

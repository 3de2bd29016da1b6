"""What the two entry points (the CLI and the action) share about their process and log.

- :func:`inert`: text printed into a CI log can never act as a log command.
- :func:`exit_on_sigterm`: a cancelled run (CI runners stop a step with SIGTERM)
  unwinds like an exception, so temporary and key files are removed on the way out.
"""

from __future__ import annotations

import re
import signal

# CI log commands a runner acts on wherever they appear in a line: GitHub's old
# ``##[set-output ...]`` / ``##[stop-commands]`` (actions/runner ActionCommand.TryParse),
# Azure's ``##vso[...]``, TeamCity's ``##teamcity[...]``. All start with "##".
_DOUBLE_HASH = re.compile(r"#(?=#)")


def inert(text: str) -> str:
    """``text`` with every "##" broken up, so no value we print (a claim of a token being
    decoded, a path, a scope entry, an audience) can act as a CI command. The escape is
    JSON's, so JSON output stays valid and reads back the same."""
    return _DOUBLE_HASH.sub(lambda _: "\\u0023", text)


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit(143)`` so ``finally`` and cleanup handlers run."""
    signal.signal(signal.SIGTERM, _raise_exit)

"""GitLab CI: a dotenv report for later jobs; never the token in the job log.

GitLab masks only variables defined in the project settings, so a token made
at run time would show in clear wherever it is printed. Later jobs get it from
an ``artifacts: reports: dotenv:`` file (downloadable with the job's artifacts:
a trade-off the CI guide spells out); the same job captures it with
``NAME=$(xctoken generate)`` on a line of its own (so a failure stops the job,
which ``export NAME="$(...)"`` would hide), which never prints it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping

from ..errors import OutputError
from ..files import append_records, check_output_path
from ..signing import iso8601
from . import ExportJob, check_name, check_value

TITLE = "GitLab CI"
# GitLab's own variables (CI_*, GITLAB_*) and runner feature flags (FF_*)
RESERVED_PREFIXES = ("CI_", "GITLAB_", "FF_")
# GitLab refuses a whole dotenv report over 5 KB ("Dotenv Artifact Too Big").
MAX_DOTENV_BYTES = 5 * 1024
# GitLab keeps quotes as they are and strips blanks at the ends: refuse both.
_UNCARRIED = "\"' \t"


def detect(env: Mapping[str, str]) -> bool:
    return env.get("GITLAB_CI") == "true"


def dotenv_record(name: str, value: str) -> str:
    """One ``NAME=value`` line of a GitLab dotenv report (one line per variable, no quoting)."""
    check_name(name, TITLE, RESERVED_PREFIXES)
    return f"{name}={check_value(name, value, 'a GitLab dotenv report', _UNCARRIED)}\n"


def export(job: ExportJob) -> list[str]:
    if not job.dotenv:
        # A delivery failure (exit 7), like every CI's "cannot hand the token over here".
        raise OutputError(
            "GitLab cannot mask a token made at run time, so xctoken will not print it into the job log: "
            "pass --dotenv FILE and list FILE under artifacts:reports:dotenv for later jobs, or use it in "
            f"this job with {job.name}=$(xctoken generate) on its own line, then export {job.name}")
    text = "".join(dotenv_record(name, value) for name, value, _secret in job.variables())
    path = check_output_path(job.dotenv, "--dotenv")
    try:
        info = os.stat(path)
        # A FIFO or device is refused by append_records, without opening it here.
        size = info.st_size if stat.S_ISREG(info.st_mode) else 0
    except FileNotFoundError:
        size = 0
    except OSError as error:
        raise OutputError(f"cannot read {path}: {error.strerror}") from None
    # + 1: append_records puts a newline first when the report's last line lacks one.
    if size + 1 + len(text.encode("utf-8")) > MAX_DOTENV_BYTES:
        raise OutputError(f"{path} would exceed GitLab's 5 KB dotenv limit (GitLab would reject "
                          "the whole report); nothing was written")
    # The user names this file: it must be theirs alone (see xctoken.files._check_private).
    append_records([(path, text)], create=True, private=True, origins={path: "--dotenv"})
    return [f"{', '.join(name for name, _, _ in job.variables())} appended to dotenv report {job.dotenv}, "
            f"valid until {iso8601(job.token.expires_at)}; list it under artifacts:reports:dotenv "
            "(anyone who can download this job's artifacts can read it)"]

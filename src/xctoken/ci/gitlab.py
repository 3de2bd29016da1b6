"""GitLab CI: a dotenv report for later jobs; never the token in the job log.

GitLab masks only variables defined in the project settings, so a token made
at run time would show in clear wherever it is printed. Later jobs get it from
an ``artifacts: reports: dotenv:`` file (downloadable with the job's artifacts:
a trade-off the CI guide spells out); the same job captures it with
``export NAME="$(xctoken generate)"``, which never prints it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping

from ..errors import ConfigError, OutputError
from ..files import append_records
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
        raise ConfigError(
            "GitLab cannot mask a token made at run time, so xctoken will not print it into the job log: "
            "pass --dotenv FILE and list FILE under artifacts:reports:dotenv for later jobs, or use it in "
            f"this job with export {job.name}=\"$(xctoken generate)\"")
    text = "".join(dotenv_record(name, value) for name, value, _secret in job.variables())
    try:
        info = os.stat(job.dotenv)
        if not stat.S_ISREG(info.st_mode):
            # A FIFO would block the read below; a device is no report GitLab can collect.
            raise OutputError(f"{job.dotenv} is not a regular file; --dotenv names the report file to write")
        size = info.st_size
        with open(job.dotenv, "rb") as existing:
            existing.seek(max(size - 1, 0))
            ends_open = size > 0 and existing.read(1) != b"\n"
    except FileNotFoundError:
        size, ends_open = 0, False
    except OSError as error:
        raise OutputError(f"cannot read {job.dotenv}: {error.strerror}") from None
    if ends_open:
        # A last line without its newline would swallow our first record.
        text = "\n" + text
    if size + len(text.encode("utf-8")) > MAX_DOTENV_BYTES:
        raise OutputError(f"{job.dotenv} would exceed GitLab's 5 KB dotenv limit (GitLab would reject "
                          "the whole report); nothing was written")
    append_records([(job.dotenv, text)], create=True)
    return [f"{', '.join(name for name, _, _ in job.variables())} appended to dotenv report {job.dotenv}, "
            f"valid until {iso8601(job.token.expires_at)}; list it under artifacts:reports:dotenv "
            "(anyone who can download this job's artifacts can read it)"]

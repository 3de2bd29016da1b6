"""No CI, or one xctoken has no adapter for (``--ci none``): stdout or ``--output FILE``.

The user asked for the token, so it goes to stdout for ``$(...)`` capture;
nothing masks it there, which the note on stderr says.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..files import write_secret_file
from ..signing import iso8601
from . import ExportJob, check_value, write_stdout_record

TITLE = "no CI (stdout or a file)"


def detect(env: Mapping[str, str]) -> bool:
    """The fallback: never detected, chosen when nothing else is (or by ``--ci none``)."""
    return False


def deliver(job: ExportJob, title: str) -> list[str]:
    """Print the token (for ``$(...)``) or write it to ``job.output`` with mode 0600."""
    value = check_value(job.name, job.token.value, title)
    until = iso8601(job.token.expires_at)
    # stdout and a token file carry one value: extra variables have no channel here.
    dropped = [f"not exported (stdout carries the token only): {', '.join(job.extra)}"] if job.extra else []
    if job.output:
        path = write_secret_file(job.output, value + "\n", origin="--output")
        return [f"token written to {path} (mode 0600), valid until {until}", *dropped]
    write_stdout_record(value + "\n")
    return [f"token printed on stdout for {job.name}=$(...) capture, valid until {until}; "
            "nothing masks it if it reaches a log", *dropped]


def export(job: ExportJob) -> list[str]:
    return deliver(job, TITLE)

"""CircleCI: an ``export NAME='value'`` line appended to ``$BASH_ENV``.

CircleCI sources ``$BASH_ENV`` at the start of every later step of the job.
It masks only project and context variables, never a value made at run time:
later steps must not print the token. Jobs do not share it (mint one per job).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from ..errors import OutputError
from ..files import append_records
from ..signing import iso8601
from . import ExportJob, check_name, check_value

TITLE = "CircleCI"
# CircleCI's own variables
RESERVED_PREFIXES = ("CIRCLE",)


def detect(env: Mapping[str, str]) -> bool:
    return env.get("CIRCLECI") == "true"


def export_line(name: str, value: str) -> str:
    check_name(name, TITLE, RESERVED_PREFIXES)
    return f"export {name}={shlex.quote(check_value(name, value, TITLE))}\n"


def export(job: ExportJob) -> list[str]:
    text = "".join(export_line(name, value) for name, value, _secret in job.variables())
    bash_env = job.env.get("BASH_ENV")
    if not bash_env:
        raise OutputError("BASH_ENV is not set, so later CircleCI steps cannot be given the token "
                          "(run in a CircleCI job, or use --ci none); nothing was written")
    append_records([(bash_env, text)], create=True)
    return [f"{job.name} exported through $BASH_ENV for later steps, valid until "
            f"{iso8601(job.token.expires_at)}; CircleCI does not mask it: never print it"]

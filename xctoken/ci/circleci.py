"""CircleCI: an ``export NAME='value'`` line appended to ``$BASH_ENV``.

CircleCI sources ``$BASH_ENV`` at the start of every later step of the job.
It masks only project and context variables, never a value made at run time:
later steps must not print the token. Jobs do not share it (mint one per job).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from ..signing import iso8601
from . import ExportJob, append_to_env_file, check_name, check_value

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
    append_to_env_file(job, "BASH_ENV", text, "CircleCI steps")
    return [f"{job.name} exported through $BASH_ENV for later steps, valid until "
            f"{iso8601(job.token.expires_at)}; CircleCI does not mask it: never print it"]

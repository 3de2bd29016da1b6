"""Bitrise: ``envman add --key NAME --sensitive`` with the value on stdin.

``--value`` would put the token in envman's argv, which any process on the
machine can read; stdin does not. Bitrise redacts a sensitive value from the
log from the NEXT step on, and hands it to every later step as ``$NAME``.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..signing import iso8601
from . import ExportJob, check_name, check_value, run_helper

TITLE = "Bitrise"
# Bitrise's own variables
RESERVED_PREFIXES = ("BITRISE", "ENVMAN_")
# envman expands $VAR in values when the next step starts.
_UNCARRIED = "$"


def detect(env: Mapping[str, str]) -> bool:
    return env.get("BITRISE_IO") == "true"


def envman_arguments(name: str, secret: bool) -> list[str]:
    return ["add", "--key", name, *(["--sensitive"] if secret else [])]


def export(job: ExportJob) -> list[str]:
    variables = job.variables()
    for name, value, _secret in variables:
        check_name(name, TITLE, RESERVED_PREFIXES)
        check_value(name, value, TITLE, _UNCARRIED)
    for name, value, secret in variables:
        run_helper("envman", envman_arguments(name, secret), value, job.env,
                   "added to the Bitrise envstore")
    return [f"{job.name} added to the envstore as a sensitive value (redacted from the next step on), "
            f"valid until {iso8601(job.token.expires_at)}"]

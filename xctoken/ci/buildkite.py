"""Buildkite: ``buildkite-agent redactor add`` (value on stdin), then the export.

Once the agent's redactor knows the token, it is replaced by ``[REDACTED]`` in
every later line of the job log. The token then goes on stdout for
``NAME=$(xctoken generate --export NAME)`` in the same command (on its own, so a
failure stops it; then ``export NAME``), and,
where the agent's Job API is available, into the job environment with
``buildkite-agent env set`` (value on stdin too), which later phases of the job
(the command after a pre-command hook, post-command hooks) see. Buildkite has no
secret channel between steps: each step mints its own token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from ..errors import OutputError
from ..signing import iso8601
from . import ExportJob, check_name, check_value, run_helper, write_stdout_record

TITLE = "Buildkite"
# the agent's own variables
RESERVED_PREFIXES = ("BUILDKITE",)
AGENT = "buildkite-agent"
REDACTOR_ADD = ["redactor", "add", "--format", "none"]
ENV_SET = ["env", "set", "--input-format=json", "--output-format=quiet", "-"]


def detect(env: Mapping[str, str]) -> bool:
    return env.get("BUILDKITE") == "true"


def export(job: ExportJob) -> list[str]:
    variables = job.variables()
    for name, value, _secret in variables:
        check_name(name, TITLE, RESERVED_PREFIXES)
        check_value(name, value, TITLE)
    try:
        run_helper(AGENT, REDACTOR_ADD, job.token.value, job.env, "redacted from the job log")
    except OutputError as error:
        if "not on PATH" in str(error):
            raise OutputError(
                f"{AGENT} is not on PATH, so the token cannot be redacted from the log; nothing was written "
                "(in a Docker plugin step, set mount-buildkite-agent: true; or use --ci none to print it "
                "unredacted)") from None
        raise
    notes = [f"token added to the agent's redactor, valid until {iso8601(job.token.expires_at)}"]
    if job.env.get("BUILDKITE_AGENT_JOB_API_SOCKET"):
        record = json.dumps({name: value for name, value, _secret in variables})
        run_helper(AGENT, ENV_SET, record + "\n", job.env, "set in the job environment")
        notes.append(f"{job.name} set in the job environment for the job's later phases")
    write_stdout_record(job.token.value + "\n")
    notes.append(f"token printed on stdout (redacted in the log) for {job.name}=\"$(...)\" capture")
    return notes

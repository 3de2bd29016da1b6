"""Codemagic: a ``NAME<<DELIMITER`` record appended to ``$CM_ENV``.

Codemagic reads ``$CM_ENV`` after each script and sets its variables for the
later scripts of the build. The heredoc form with a random delimiter means no
value can end the record early and inject another variable. Codemagic masks
its secure environment variables, not a value made at run time.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from ..errors import OutputError
from ..signing import iso8601
from . import ExportJob, append_to_env_file, check_name, check_value

TITLE = "Codemagic"
# Codemagic's own variables
RESERVED_PREFIXES = ("CM_", "FCI_")


def detect(env: Mapping[str, str]) -> bool:
    return bool(env.get("CM_BUILD_ID"))


def heredoc_record(name: str, value: str, delimiter: str | None = None) -> str:
    delimiter = delimiter or f"XCTOKEN_EOF_{secrets.token_hex(16)}"
    check_name(name, TITLE, RESERVED_PREFIXES)
    check_value(name, value, TITLE)
    if delimiter in value or delimiter in name:
        raise OutputError(f"the value for {name} holds the record delimiter; nothing was written")
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def export(job: ExportJob) -> list[str]:
    text = "".join(heredoc_record(name, value) for name, value, _secret in job.variables())
    append_to_env_file(job, "CM_ENV", text, "Codemagic scripts")
    return [f"{job.name} appended to $CM_ENV for later scripts, valid until "
            f"{iso8601(job.token.expires_at)}; Codemagic does not mask it: never print it"]

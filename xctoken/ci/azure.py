"""Azure Pipelines: ``##vso[task.setvariable ...;issecret=true]`` on stdout.

The agent masks a secret variable in every later line of the log, but hands it
to later steps only where they map it (``env: NAME: $(NAME)``). The key's own
renderings are masked too (``##vso[task.setsecret]``): a secret variable
holding the key's base64 is masked as stored, the PEM lines decoded from it are
not. Everything is written in one ``write()`` so no record is ever split.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..signing import iso8601
from . import ExportJob, check_name, check_value, write_stdout_record

TITLE = "Azure Pipelines"
# the agent's own variables (names are case-insensitive there)
RESERVED_PREFIXES = ("AGENT_", "BUILD_", "SYSTEM_", "TF_", "RELEASE_", "ENDPOINT_", "INPUT_", "SECRET_",
                     "SECUREFILE_")
# The agent turns %AZP25 back into % only on some versions: a value with % cannot be
# carried the same everywhere, and the token never holds one.
_UNCARRIED = "%"


def detect(env: Mapping[str, str]) -> bool:
    return env.get("TF_BUILD", "").lower() == "true"


def escape_property(text: str) -> str:
    """azure-pipelines-task-lib's escaping for a logging command property value."""
    return (text.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")
            .replace("]", "%5D").replace(";", "%3B"))


def set_variable(name: str, value: str, secret: bool) -> str:
    flags = ";issecret=true" if secret else ""
    return f"##vso[task.setvariable variable={escape_property(name)}{flags}]{value}\n"


def set_secret(value: str) -> str:
    return f"##vso[task.setsecret]{value}\n"


def key_masks(job: ExportJob) -> list[str]:
    """The key's one-line renderings (the multi-line PEM is covered line by line).

    Only on a real Azure agent (``TF_BUILD``): anywhere else these lines would
    print key material rather than hide it.
    """
    if job.key is None or not detect(job.env):
        return []
    return [text for text in job.key.secret_strings() if "\n" not in text and "\r" not in text
            and "%" not in text]


def export(job: ExportJob) -> list[str]:
    variables = job.variables()
    for name, value, _secret in variables:
        check_name(name, TITLE, RESERVED_PREFIXES)
        check_value(name, value, TITLE, _UNCARRIED)
    masks = key_masks(job)
    # Masks first: the agent hides only what it is told about before the line is printed.
    text = "".join(set_secret(mask) for mask in masks)
    text += "".join(set_variable(name, value, secret) for name, value, secret in variables)
    write_stdout_record(text)
    return [f"{job.name} set as a secret variable for later steps (map it: env: {job.name}: "
            f"$({job.name})), valid until {iso8601(job.token.expires_at)}"
            + (f"; {len(masks)} renderings of the key masked" if masks else "")]

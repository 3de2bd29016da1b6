"""GitHub Actions: the runner protocol (masks, file commands, annotations).

Used by the action (:mod:`xctoken.action`) and by ``xctoken generate --export``
on a GitHub runner. actions-toolkit, a port of ``@actions/core``, formats the
workflow commands and the heredoc records; it is imported here and nowhere else,
so the plain CLI never loads it.

Two rules shape everything below:

- A value is masked only in what the runner reads AFTER its ``::add-mask::``
  line, so every secret is masked before anything that could show it (outputs
  and env values are echoed in debug logs too).
- The records for GITHUB_OUTPUT, GITHUB_ENV and the job summary are all built
  and checked first and then appended all or nothing
  (:func:`xctoken.files.append_records`): a failure leaves no record behind.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import TextIO

from ..errors import ConfigError, OutputError
from ..files import append_records, check_output_path
from . import ExportJob, check_name

TITLE = "GitHub Actions"

# On top of the names every CI refuses (xctoken.ci.check_name: GITHUB_*, NODE_OPTIONS,
# PATH, LD_*, ...): RUNNER_* are the runner's own, and ACTIONS_* steer it.
_RESERVED_PREFIXES = ("RUNNER_", "ACTIONS_")
# Fragments shorter than this carry no usable secret, and masking them ("=",
# "Ao") would star out ordinary log text everywhere.
MIN_MASK_LENGTH = 4
_PEM_ARMOR = re.compile(r"-----(BEGIN|END) [A-Z0-9 ]+-----")


def detect(env: Mapping[str, str]) -> bool:
    return env.get("GITHUB_ACTIONS") == "true"


def validate_env_name(name: str, what: str = "env-name") -> str:
    """A name GITHUB_ENV can carry to later steps, or :class:`ConfigError` naming ``what``."""
    try:
        return check_name(name, TITLE, _RESERVED_PREFIXES)
    except ConfigError as error:
        raise ConfigError(f"{what}: {error}") from None


def mask_candidates(values: Iterable[str]) -> list[str]:
    """Each value and each of its lines, trimmed, minus fragments not worth masking.

    The runner masks a value's lines itself (since actions/runner #1521), but
    only when the whole value was registered; registering lines as well covers
    the same key arriving in another wrapping. PEM armor lines are public text.
    """
    found: list[str] = []
    for value in values:
        for piece in [value, *re.split(r"[\r\n]+", value)]:
            piece = piece.strip()
            if len(piece) < MIN_MASK_LENGTH or _PEM_ARMOR.fullmatch(piece):
                continue
            found.append(piece)
    return list(dict.fromkeys(found))


def _toolkit() -> tuple[ModuleType, ModuleType]:
    """actions-toolkit's ``command`` and ``file_command`` modules (not ``core``: it imports requests)."""
    try:
        from actions_toolkit import command, file_command  # type: ignore[import-untyped]
    except ImportError:
        raise OutputError("GitHub Actions support needs actions-toolkit: pip install 'xctoken[github]' "
                          "(the action and the Docker image include it)") from None
    return command, file_command


def add_masks(values: Iterable[str], stdout: TextIO | None = None) -> None:
    """Register each secret with the runner (``::add-mask::``, escaped) and flush."""
    Command = _toolkit()[0].Command  # noqa: N806 - the toolkit's class

    stream = stdout or sys.stdout
    for value in mask_candidates(values):
        # actions-toolkit's set_secret escapes %, CR and LF as the runner expects, so a
        # multi-line value cannot end the command early and print the rest in clear.
        stream.write(str(Command("add-mask", {}, value)) + "\n")
    stream.flush()


def command_line(command: str, message: str, **properties: str) -> str:
    """One workflow command line (``::error title=...::message``), escaped by actions-toolkit."""
    Command = _toolkit()[0].Command  # noqa: N806 - the toolkit's class

    props = {k: v for k, v in properties.items() if v}
    return str(Command(command, props, message))


def heredoc_record(name: str, value: str) -> str:
    """A file-command record ``NAME<<ghadelimiter_<uuid>`` ... that the runner's parser reads back whole."""
    prepare_key_value_message = _toolkit()[1].prepare_key_value_message
    try:
        return str(prepare_key_value_message(name, value)) + os.linesep
    except Exception:  # noqa: BLE001 - it raises a bare Exception when the value holds its delimiter
        raise OutputError(f"the value for {name} contains the record delimiter; nothing was written") from None


def file_command_path(env: Mapping[str, str], variable: str, required: bool = True) -> str:
    """The path in ``$variable`` (GITHUB_ENV, GITHUB_OUTPUT...), checked to be a path and not key text.

    Unset is an error when ``required``, else ``""`` (the job summary is optional).
    """
    path = env.get(variable, "")
    if not path.strip():
        if not required:
            return ""
        raise OutputError(f"${variable} is not set, so the runner cannot receive the value; "
                          "this must run as a step of a GitHub Actions job")
    return check_output_path(path, f"${variable}")


def write_records(records: Sequence[tuple[str, str]], on_written: Callable[[], None] | None = None) -> None:
    """Append every record to its file command file, all or nothing.

    The runner creates these files before the step starts; a missing one means
    the environment is not a real step, so nothing is created here. Their owner
    and mode are the runner's business (see :func:`xctoken.files._check_private`).
    """
    append_records(records, create=False, on_written=on_written)


def export(job: ExportJob) -> list[str]:
    """``xctoken generate --export NAME`` on a GitHub runner: mask, then GITHUB_ENV."""
    if not detect(job.env):
        # The ::add-mask:: lines carry every rendering of the key: anywhere but a GitHub
        # runner (which reads and hides them) they would print it in clear.
        raise OutputError("--ci github works only in a GitHub Actions step (GITHUB_ACTIONS=true); elsewhere "
                          "its mask lines would print the key: drop --ci github, or name this CI")
    name = validate_env_name(job.name, "the --export variable name")
    extra = {validate_env_name(k, "an extra variable name"): v for k, v in job.extra.items()}
    env_file = file_command_path(job.env, "GITHUB_ENV")
    from ..console import reaches_the_log

    if not reaches_the_log(sys.stdout):
        raise OutputError("standard output is closed or /dev/null, and the masks for the token and the key go "
                          "there for the runner to read; drop the >/dev/null (or >&-); nothing was exported")
    secrets = [job.token.value, *(job.key.secret_strings() if job.key is not None else [])]
    records = [(env_file, heredoc_record(name, job.token.value))]
    records += [(env_file, heredoc_record(k, v)) for k, v in extra.items()]
    add_masks(secrets)
    write_records(records)
    return [f"${name} is set for the later steps of this job (masked in the log), valid until "
            f"{job.token.summary()['expires_at']}"]

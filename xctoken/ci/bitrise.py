"""Bitrise: ``envman add --key NAME --sensitive`` with the value on stdin.

``--value`` would put the token in envman's argv, which any process on the
machine can read; stdin does not (envman reads a piped stdin whole when no
--value is given: bitrise-io/envman cli/add.go). Bitrise redacts a sensitive
value from the log from the NEXT step on, and hands it to every later step as
``$NAME``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..console import signals_held, stop_pending
from ..errors import OutputError
from ..signing import iso8601
from . import ExportJob, check_name, check_value, run_helper

TITLE = "Bitrise"
# Bitrise's own variables
RESERVED_PREFIXES = ("BITRISE", "ENVMAN_")
# envman expands $VAR in values when the next step starts.
_UNCARRIED = "$"
_PURPOSE = "added to the Bitrise envstore"


def detect(env: Mapping[str, str]) -> bool:
    return env.get("BITRISE_IO") == "true"


def envman_arguments(name: str, secret: bool) -> list[str]:
    return ["add", "--key", name, *(["--sensitive"] if secret else [])]


def check_variable(name: str, value: str, secret: bool, replaces: Sequence[str] = ()) -> None:
    """Refuse what envman cannot carry; ``replaces`` names variables the caller means to overwrite (PATH).

    A non-secret value may span lines (the scope, one request per line): the
    envstore is YAML and keeps them. The token never has a line break.
    """
    if secret or name not in replaces:  # the token never replaces PATH
        check_name(name, TITLE, RESERVED_PREFIXES)
    check_value(name, value if secret else value.replace("\n", " "), TITLE, _UNCARRIED)


def add_variables(variables: Sequence[tuple[str, str, bool]], env: Mapping[str, str],
                  replaces: Sequence[str] = ()) -> None:
    """``envman add`` each (name, value, secret), all or nothing.

    Everything is checked before the first add. If an add fails, the ones
    before it are undone: each variable gets back the value this step started
    with, or is unset.
    """
    for name, value, secret in variables:
        check_variable(name, value, secret, replaces)
    added: list[str] = []
    # A cancel waits until the adds are done, and then undoes them: the step removes its key file
    # on its way out, and half (or all) of a set of variables would point later steps at it.
    with signals_held():
        try:
            for name, value, secret in variables:
                run_helper("envman", envman_arguments(name, secret), value, env, _PURPOSE)
                added.append(name)
        except BaseException:
            for name in reversed(added):
                _restore(name, env)
            raise
        if stop_pending():
            for name in reversed(added):
                _restore(name, env)


def _restore(name: str, env: Mapping[str, str]) -> None:
    try:
        if name in env:
            run_helper("envman", envman_arguments(name, False), env[name], env, "restored")
        else:
            run_helper("envman", ["unset", "--key", name], "", env, "unset")
    except OutputError:
        pass  # the first failure is the one to report


def export(job: ExportJob) -> list[str]:
    add_variables(job.variables(), job.env)
    return [f"{job.name} added to the envstore as a sensitive value (redacted from the next step on), "
            f"valid until {iso8601(job.token.expires_at)}"]

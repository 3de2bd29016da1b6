"""The Bitrise step (``step.yml``, ``bitrise/step.sh``): a token now, and more on demand.

Bitrise passes each input as an environment variable of its own name. The step
signs one token and adds it to the envstore as a sensitive value, as the CLI's
``--export`` does. With ``mint_on_demand`` (the default) it also configures the
rest of the build like the GitHub Actions do (:mod:`xctoken.ondemand`): the
key in ``private_keys/AuthKey_<KEYID>.p8`` (0600) in the step's per-build
directory, ``ASC_*``/``XCTOKEN_*`` variables, and an ``xctoken`` launcher put
first on PATH through envman (as Bitrise's own installer steps extend PATH), so
every later step mints a fresh token with ``xctoken generate``.

The per-build directory is made by ``step.sh`` with ``mktemp -d`` (0700,
unguessable, owned by the build's user): nothing another local user planted
can be run or read. Bitrise's hosted machines are discarded after each build;
on a self-hosted agent the directory outlives the build until it is removed
(``XCTOKEN_BITRISE_DIR`` names it), which docs/on-demand.md explains.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .console import guard_process, inert, printable, settle_streams
from .errors import ConfigError, XctokenError
from .keyfiles import KeyFiles, remove_empty_dirs, remove_files, write_key_files, write_launchers
from .ondemand import TOOLS, job_variables, parse_tools, python_launcher, tool_variables
from .settings import Options, resolve
from .signing import Signer, iso8601

DEFAULT_VARIABLE = "APP_STORE_CONNECT_TOKEN"
DIR_VARIABLE = "XCTOKEN_BITRISE_DIR"
_KEY_INPUT_VARIABLE = "XCTOKEN_STEP_PRIVATE_KEY"  # the private_key input, in a mapping of its own
_YES, _NO = ("yes", "true"), ("no", "false")


@dataclass(frozen=True)
class StepInputs:
    key_id: str
    issuer_id: str
    private_key: str
    private_key_path: str
    key_type: str
    lifetime: str
    scope: tuple[str, ...]
    variable_name: str
    mint_on_demand: bool
    export_for: tuple[str, ...]

    def __repr__(self) -> str:
        return f"StepInputs(key_id={self.key_id!r}, private_key=<{len(self.private_key)} characters, not shown>)"


def _yes_no(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value not in _YES + _NO:
        raise ConfigError(f"the {name} input must be yes or no")
    return value in _YES


def read_inputs(env: Mapping[str, str]) -> StepInputs:
    return StepInputs(
        key_id=env.get("key_id", "").strip(),
        issuer_id=env.get("issuer_id", "").strip(),
        private_key=env.get("private_key", ""),
        private_key_path=env.get("private_key_path", "").strip(),
        key_type=env.get("key_type", "").strip() or "team",
        lifetime=env.get("lifetime", "").strip(),
        scope=tuple(line.strip() for line in env.get("scope", "").splitlines() if line.strip()),
        variable_name=env.get("variable_name", "").strip() or DEFAULT_VARIABLE,
        mint_on_demand=_yes_no(env, "mint_on_demand", True),
        export_for=parse_tools(env.get("export_for", "")),
    )


def configure(inputs: StepInputs, env: Mapping[str, str], work_dir: Path, made: list[Path]) -> list[str]:
    """Sign, write the job's files and add every variable; the lines to log."""
    has_content = bool(inputs.private_key.strip())
    if not has_content and not inputs.private_key_path:
        raise ConfigError("set the private_key input (the .p8 content or its base64, from a Secret) or "
                          "private_key_path (the .p8 file, e.g. from the File Downloader step)")
    options = Options(key_id=inputs.key_id or None, issuer_id=inputs.issuer_id or None,
                      key_path=None if has_content else inputs.private_key_path,
                      key_env=_KEY_INPUT_VARIABLE if has_content else None, key_type=inputs.key_type,
                      lifetime=inputs.lifetime or None, scope=inputs.scope)
    # Only the inputs count, as in the GitHub Action: the build's other variables are not consulted.
    resolved = resolve(options, {_KEY_INPUT_VARIABLE: inputs.private_key} if has_content else {})
    token = Signer(resolved.request, resolved.key).sign()
    lines = [f"xctoken: warning: {warning}" for warning in resolved.warnings]
    variables: dict[str, str] = {}
    if inputs.mint_on_demand or inputs.export_for:
        files = KeyFiles(work_dir, str(work_dir))
        with_json = any(TOOLS[name].needs_json for name in inputs.export_for)
        keys = write_key_files(resolved, files, None, with_json, made)
        variables.update(tool_variables(inputs.export_for, keys))
        variables[DIR_VARIABLE] = str(work_dir)
        if inputs.mint_on_demand:
            variables.update(job_variables(resolved.request, keys.key_path))
            launcher_dir = write_launchers(files, {"xctoken": python_launcher(sys.executable)},
                                           None, made)
            variables["PATH"] = launcher_dir + os.pathsep + env.get("PATH", os.defpath)
    if inputs.variable_name in variables:
        raise ConfigError(f"variable_name {inputs.variable_name} is also a variable this step sets for "
                          "later steps; choose another name")

    from .ci import bitrise

    # The token last: if an earlier add fails, nothing holds it yet.
    entries = [(name, value, False) for name, value in variables.items()]
    entries.append((inputs.variable_name, token.value, True))
    bitrise.add_variables(entries, env, replaces=("PATH",))
    lines.append(f"xctoken: ${inputs.variable_name} holds a token for key {resolved.request.key_id}, valid until "
                 f"{iso8601(token.expires_at)} (sensitive: redacted from the next step on)")
    if inputs.mint_on_demand:
        lines.append("xctoken: later steps mint fresh tokens with `xctoken generate` (key file in "
                     f"{work_dir}/private_keys)")
    elif inputs.export_for:
        lines.append(f"xctoken: the key file for {', '.join(inputs.export_for)} is in {work_dir}/private_keys")
    return lines


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    guard_process()
    args = sys.argv[1:] if argv is None else argv
    environ = os.environ if env is None else env
    if len(args) != 1:
        sys.stderr.write("xctoken: error: usage: step.py WORK_DIR (run by bitrise/step.sh)\n")
        return 2
    try:
        return _run(environ, Path(args[0]))
    except KeyboardInterrupt:  # Ctrl-C or a cancel: files already removed, no traceback
        return 130
    finally:
        settle_streams()


def _run(environ: Mapping[str, str], work_dir: Path) -> int:
    made: list[Path] = []
    try:
        lines = configure(read_inputs(environ), environ, work_dir, made)
    except XctokenError as error:
        _undo(made, work_dir)
        _write(sys.stderr, f"xctoken: error: {error}")
        return error.exit_code
    except Exception as error:  # noqa: BLE001 - a bug must still not print key material
        _undo(made, work_dir)
        _write(sys.stderr, f"xctoken: error: internal error ({type(error).__name__}); please report it "
                           "(details are not shown because they could contain key material)")
        return 1
    except BaseException:
        _undo(made, work_dir)  # cancelled (SIGTERM, Ctrl-C): nothing of the key outlives the step
        raise
    for line in lines:
        # Paths and warnings are the user's text: one line each, never a log command.
        _write(sys.stdout, line)
    return 0


def _write(stream: TextIO | None, line: str) -> None:
    """One line of the step's log: the user's text (paths, warnings) never acts as a log command."""
    if stream is None:
        return
    try:
        stream.write(inert(printable(line)) + "\n")
    except (OSError, ValueError):
        pass


def _undo(made: list[Path], work_dir: Path) -> None:
    remove_files(made)
    remove_empty_dirs(work_dir)

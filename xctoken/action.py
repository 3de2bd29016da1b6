"""The GitHub Action: inputs in, a token out, and the job configured to mint more.

Both actions run this: the container action (``action.yml`` at the root, Linux
runners) and the portable composite action (``portable/action.yml``, macOS,
Linux and Windows runners). The order of events is the contract:

1. read every input (``INPUT_<NAME>``, hyphens kept, as the runner sets them);
2. mask the private key as given, and once loaded, every rendering of it;
3. validate everything and sign; mask the token before anything could show it;
4. write the key files and, with ``mint-on-demand`` (the default), the
   ``xctoken`` launcher for later steps (under RUNNER_TEMP, never the workspace;
   see :mod:`xctoken.ondemand`);
5. append the outputs, env variables, PATH entry and job summary all or nothing.

Any failure before step 5 completes prints one ``::error::`` annotation, exits
non-zero and leaves no output, env record, key file or launcher behind.
"""

from __future__ import annotations

import errno
import json
import os
import posixpath
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .claims import APP_STORE_CONNECT, AUDIENCE_APP_STORE_CONNECT, KeyType, parse_key_type
from .console import guard_process, inert, printable, settle_streams
from .errors import ConfigError, KeyNotFoundError, OutputError, XctokenError
from .keyfiles import KeyFiles, Owner, join, remove_empty_dirs, remove_files, write_key_files, write_launchers
from .ondemand import (
    TOOLS,
    KeySetup,
    docker_launcher,
    job_variables,
    parse_tools,
    python_launcher,
    tool_variables,
    windows_launcher,
)
from .settings import Options, Resolved, resolve
from .signing import Signer, Token, iso8601

DEFAULT_ENV_NAME = "APP_STORE_CONNECT_TOKEN"
DEFAULT_SERVICE = APP_STORE_CONNECT
# settings.resolve reads key content from a named variable: the private-key input is
# handed to it under this name, in a mapping of its own (never the process environment).
_KEY_INPUT_VARIABLE = "XCTOKEN_ACTION_PRIVATE_KEY"
# What the runner mounts into a container action (actions/runner ContainerActionHandler).
CONTAINER_RUNNER_TEMP = "/github/runner_temp"
CONTAINER_WORKSPACE = "/github/workspace"
KEYS_SUBDIR = "xctoken"
_TRUE, _FALSE = ("true", "True", "TRUE"), ("false", "False", "FALSE", "")


def input_value(env: Mapping[str, str], name: str, trim: bool = True) -> str:
    """An input as the runner passes it: ``INPUT_`` + name upper-cased, spaces to ``_``, hyphens kept."""
    value = env.get("INPUT_" + name.replace(" ", "_").upper(), "")
    return value.strip() if trim else value


@dataclass(frozen=True)
class ActionInputs:
    issuer_id: str
    key_id: str
    private_key: str  # as given (untrimmed): masked exactly as it came
    private_key_path: str
    key_type: str
    lifetime: str
    scope: tuple[str, ...]
    audience: str
    env_name: str
    write_key_file: bool
    mint_on_demand: bool = True
    export_for: tuple[str, ...] = ()
    # Another Apple service (xctoken.services) and its inputs; "" = App Store Connect.
    service: str = ""
    team_id: str = ""
    client_id: str = ""
    bundle_id: str = ""
    services_id: str = ""
    origin: tuple[str, ...] = ()
    verify: str = "false"  # false | true | strict: ask Apple once (xctoken doctor) before handing over

    def __repr__(self) -> str:
        # The dataclass repr would show the key: a debugger or error reporter must not.
        return f"ActionInputs(key_id={self.key_id!r}, private_key=<{len(self.private_key)} characters, not shown>)"

    @property
    def key_files_needed(self) -> bool:
        return self.mint_on_demand or self.write_key_file or bool(self.export_for)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = input_value(env, name)
    if value == "":  # absent or empty: the input's default, as for every other input
        return default
    if value not in _TRUE + _FALSE:
        raise ConfigError(f"{name} must be true or false")
    return value in _TRUE


def read_inputs(env: Mapping[str, str]) -> ActionInputs:
    write_key_file = _flag(env, "write-key-file", False)
    mint_on_demand = _flag(env, "mint-on-demand", True)
    export_for = parse_tools(input_value(env, "export-for"))
    scope_text = input_value(env, "scope")
    return ActionInputs(
        issuer_id=input_value(env, "issuer-id"),
        key_id=input_value(env, "key-id"),
        private_key=input_value(env, "private-key", trim=False),
        private_key_path=input_value(env, "private-key-path"),
        key_type=input_value(env, "key-type") or KeyType.TEAM.value,
        lifetime=input_value(env, "lifetime"),
        scope=tuple(line.strip() for line in scope_text.splitlines() if line.strip()),
        audience=input_value(env, "audience"),
        # Only an absent input means the default; an explicit empty string means "do not export".
        env_name=env.get("INPUT_ENV-NAME", DEFAULT_ENV_NAME).strip(),
        write_key_file=write_key_file,
        mint_on_demand=mint_on_demand,
        export_for=export_for,
        service=input_value(env, "service"),
        team_id=input_value(env, "team-id"),
        client_id=input_value(env, "client-id"),
        bundle_id=input_value(env, "bundle-id"),
        services_id=input_value(env, "services-id"),
        origin=tuple(line.strip() for line in input_value(env, "origin").splitlines() if line.strip()),
        verify=_verify_mode(input_value(env, "verify")),
    )


def _verify_mode(value: str) -> str:
    mode = value.strip().lower() or "false"
    if mode not in ("false", "true", "strict"):
        raise ConfigError("verify must be false, true or strict")
    return mode


def resolve_inputs(inputs: ActionInputs) -> Resolved:
    """Validate the inputs with the core's rules and load the key.

    Only the inputs count: the job's ASC_* or fastlane variables are not
    consulted, so what a workflow passes is exactly what is used.
    """
    has_content = bool(inputs.private_key.strip())
    if has_content == bool(inputs.private_key_path):
        raise ConfigError("set exactly one of private-key (the .p8 content, base64 or PEM, from a secret) "
                          "and private-key-path (a path to AuthKey_<KEYID>.p8)")
    if inputs.service and inputs.service.strip().lower() != DEFAULT_SERVICE:
        return _resolve_service(inputs, has_content)
    key_type = parse_key_type(inputs.key_type)
    if key_type is KeyType.TEAM and not inputs.issuer_id:
        raise ConfigError("the issuer-id input is empty; set it to the Issuer ID from App Store Connect > "
                          "Users and Access > Integrations, or set key-type: individual")
    if not inputs.key_id and not (inputs.private_key_path and
                                  Path(inputs.private_key_path).name.startswith("AuthKey_")):
        raise ConfigError("the key-id input is empty; set it to the 10-character Key ID from "
                          "App Store Connect > Users and Access > Integrations")
    options = Options(
        key_id=inputs.key_id or None,
        issuer_id=inputs.issuer_id or None,
        key_path=inputs.private_key_path or None,
        key_env=_KEY_INPUT_VARIABLE if has_content else None,
        key_type=key_type.value,
        audience=inputs.audience or None,
        lifetime=inputs.lifetime or None,
        scope=inputs.scope,
    )
    key_env = {_KEY_INPUT_VARIABLE: inputs.private_key} if has_content else {}
    try:
        return resolve(options, key_env)
    except KeyNotFoundError as error:
        if has_content:
            raise
        raise KeyNotFoundError(f"{error}; the private-key-path input must name a file this step can see "
                               "(in the container action: under the workspace or RUNNER_TEMP)") from None


def _resolve_service(inputs: ActionInputs, has_content: bool) -> Resolved:
    """Another Apple service: its profile decides the claims, so the App Store Connect inputs do not apply."""
    from .services import get

    profile = get(inputs.service)
    if inputs.export_for or inputs.write_key_file:
        raise ConfigError(f"export-for and write-key-file set up App Store Connect tools; they do not apply to "
                          f"{profile.title} tokens (service: {profile.name})")
    # key-type and audience keep their App Store Connect defaults in action.yml: only a
    # different value is a mistake.
    if inputs.key_type not in ("", KeyType.TEAM.value) or inputs.audience not in ("", AUDIENCE_APP_STORE_CONNECT):
        raise ConfigError(f"key-type and audience are for App Store Connect tokens; {profile.title} tokens "
                          "take their claims from the service's profile")
    options = Options(
        service=profile.name, key_id=inputs.key_id or None, issuer_id=inputs.issuer_id or None,
        key_path=inputs.private_key_path or None, key_env=_KEY_INPUT_VARIABLE if has_content else None,
        lifetime=inputs.lifetime or None, scope=inputs.scope, team_id=inputs.team_id or None,
        client_id=inputs.client_id or None, bundle_id=inputs.bundle_id or None,
        services_id=inputs.services_id or None, origin=inputs.origin,
    )
    return resolve(options, {_KEY_INPUT_VARIABLE: inputs.private_key} if has_content else {})


# -- key files ---------------------------------------------------------------


def host_runner_temp(env: Mapping[str, str]) -> str:
    """RUNNER_TEMP as later steps on the host see it.

    In a container action the runner mounts its temp directory (``<work>/_temp``)
    at /github/runner_temp and rewrites every variable holding a host path under
    a mount to the container path, so the host path is not passed. It can still
    be derived: RUNNER_WORKSPACE (``<work>/<repository>``) is under no mount and
    arrives unchanged, and the runner's temp directory is always ``<work>/_temp``
    (actions/runner: WellKnownDirectory.Temp, runner.workspace). Outside such a
    container (the portable action, act, a job container) RUNNER_TEMP is
    already the path later steps use.
    """
    runner_temp = env.get("RUNNER_TEMP", "").strip()
    if not runner_temp:
        raise OutputError("RUNNER_TEMP is not set, so there is no private place for the key file; "
                          "write-key-file needs a GitHub Actions runner")
    if not in_container_action(env):
        return runner_temp
    workspace = env.get("RUNNER_WORKSPACE", "").strip().rstrip("/")
    if not workspace.startswith("/") or workspace.startswith("/github/"):
        raise OutputError("cannot tell where the runner's temp directory is on the host (RUNNER_WORKSPACE "
                          "is not a host path), so the key file paths would be wrong in later steps; "
                          "use the portable action (xctoken-action/portable) on this runner")
    return posixpath.join(posixpath.dirname(workspace), "_temp")


def plan_key_files(env: Mapping[str, str]) -> KeyFiles:
    local_temp = env.get("RUNNER_TEMP", "").strip()
    host_temp = host_runner_temp(env)
    return KeyFiles(Path(local_temp) / KEYS_SUBDIR, join(host_temp, KEYS_SUBDIR))


def _runner_owner(directory: Path) -> Owner | None:
    """Who later steps run as, when that is not us: the owner of the runner's temp directory.

    A container action runs as root, and a 0600 file owned by root is unreadable
    to the runner's user (``runner`` on GitHub-hosted machines) in later steps.
    The file is handed to that user instead of being made readable to all.
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    try:
        info = directory.stat()
    except OSError as error:
        raise OutputError(f"RUNNER_TEMP ({directory}) cannot be read: {error.strerror}; run this as a step of "
                          "a GitHub Actions job") from None
    if info.st_uid == 0:
        return None
    return info.st_uid, info.st_gid


def key_outputs(setup: KeySetup, with_json: bool) -> dict[str, str]:
    outputs = {"private-key-path": setup.key_path, "private-keys-dir": setup.keys_dir}
    if with_json:
        outputs["api-key-json-path"] = setup.api_key_json
    return outputs


# -- the launcher for later steps ---------------------------------------------

def in_container_action(env: Mapping[str, str]) -> bool:
    return env.get("RUNNER_TEMP", "").strip().rstrip("/") == CONTAINER_RUNNER_TEMP


def write_launcher(files: KeyFiles, owner: Owner | None, env: Mapping[str, str],
                   made: list[Path]) -> tuple[str | None, str]:
    """Put an ``xctoken`` for later steps in RUNNER_TEMP/xctoken/bin; return its host dir (or None) and a note."""
    if in_container_action(env):
        from .docker_socket import DOCKER_SOCKET, own_image_id  # http.client: only this path pays for it

        image = own_image_id()
        if image is None:
            return None, ("later steps get the key file and ASC_* variables, but no xctoken command: "
                          f"the image could not be identified through {DOCKER_SOCKET}; use the portable "
                          "action (xctoken/xctoken-action/portable) to mint in later steps")
        scripts = {"xctoken": docker_launcher(image)}
    else:
        python = sys.executable
        scripts = {"xctoken": python_launcher(python)}
        if os.name == "nt":
            scripts["xctoken.cmd"] = windows_launcher(python)
    return write_launchers(files, scripts, owner, made), ""


# -- reporting ---------------------------------------------------------------


def _cell(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "&#124;").replace("`", "&#96;"))


def _title(token: Token) -> str:
    from .services import get

    return get(token.service).title


def summary_markdown(token: Token, setup: JobSetup) -> str:
    facts = token.summary()
    scope = token.scope
    if token.service == DEFAULT_SERVICE:
        rows = [
            ("Key ID", str(facts["kid"])),
            ("Key type", str(facts["key_type"])),
            ("Audience", str(facts["audience"])),
            ("Scope", "<br>".join(_cell(str(s)) for s in scope) if scope else "(any request)"),
        ]
    else:
        claims = facts["claims"]
        assert isinstance(claims, dict)  # nosec B101 - Token.summary's shape for services
        rows = [("Service", token.service), ("Key ID", str(facts["kid"]))]
        rows += [(f"Claim {name}", json.dumps(value)) for name, value in claims.items()]
    rows += [("Issued at", str(facts["issued_at"])), ("Expires at", str(facts["expires_at"]))]
    later = ("`xctoken generate` mints a fresh token" if setup.launcher_dir else
             "the key file and variables are set" if setup.key_dir else "only this token (mint-on-demand: false)")
    rows.append(("Later steps", later))
    if setup.verified:
        rows.append(("Verified with Apple", setup.verified))
    lines = [f"### {_title(token)} token", "", "| | |", "|---|---|"]
    # Scope and Later steps are markup already (<br>, `code`); every other cell is escaped once here.
    lines += [f"| {name} | {value if name in ('Scope', 'Later steps') else _cell(value)} |" for name, value in rows]
    return "\n".join(lines) + "\n\n"


def log_summary(token: Token, env_name: str, setup: JobSetup) -> str:
    facts = token.summary()
    minutes = (token.expires - int(token.claims["iat"])) // 60  # type: ignore[call-overload]
    if token.service == DEFAULT_SERVICE:
        text = (f"xctoken: signed an App Store Connect API token for key {facts['kid']} ({facts['key_type']} key, "
                f"audience {facts['audience']}), valid {minutes} min until {facts['expires_at']}")
        if facts["scope"]:
            text += f", scoped to {len(facts['scope'])} request(s)"  # type: ignore[arg-type]
    else:
        text = (f"xctoken: signed a token for {_title(token)} ({token.service}) with key {facts['kid']}, valid "
                f"{minutes} min until {facts['expires_at']}")
    text += f"; exported as ${env_name}" if env_name else "; not exported to the environment"
    if setup.key_dir:
        text += f"; key file in {setup.key_dir}"
    if setup.launcher_dir:
        text += "; later steps mint fresh tokens with `xctoken generate`"
    return text


# -- the run -----------------------------------------------------------------


def run(env: Mapping[str, str], stdout: TextIO) -> int:
    from .ci import github

    made: list[Path] = []
    done: list[bool] = []  # set once every record is in
    try:
        if not github.detect(env):
            # Its first lines are ::add-mask:: commands carrying the key: only a GitHub runner hides them.
            raise OutputError("the action runs only as a GitHub Actions step (GITHUB_ACTIONS=true); elsewhere "
                              "use the CLI: xctoken generate --export (docs/ci-guide.md)")
        inputs = read_inputs(env)
        # The key as given is masked before anything else happens (GitHub masks it
        # only if it came straight from a secret).
        github.add_masks([inputs.private_key], stdout)
        if inputs.env_name:
            github.validate_env_name(inputs.env_name)
        output_file = github.file_command_path(env, "GITHUB_OUTPUT")
        env_file = github.file_command_path(env, "GITHUB_ENV") if inputs.env_name or inputs.key_files_needed \
            else ""
        path_file = github.file_command_path(env, "GITHUB_PATH") if inputs.mint_on_demand else ""
        summary_file = github.file_command_path(env, "GITHUB_STEP_SUMMARY", required=False)
        resolved = resolve_inputs(inputs)
        github.add_masks(resolved.key.secret_strings(), stdout)
        token = Signer(resolved.request, resolved.key).sign()
        github.add_masks([token.value], stdout)
        for warning in resolved.warnings:
            stdout.write(github.command_line("warning", warning, title="xctoken") + "\n")
        if env.get("RUNNER_DEBUG") == "1":
            stdout.write(github.command_line("debug", f"xctoken: key read as {resolved.key.form.describe()}")
                         + "\n")

        outputs = {
            "token": token.value,
            "expires-at": iso8601(token.expires_at),
            "expires-at-epoch": str(token.expires),
        }
        env_vars: dict[str, str] = {}
        verified = _verify_with_apple(inputs.verify, resolved, env, stdout)
        setup = configure_job(inputs, resolved, env, made)
        setup.verified = verified
        outputs.update(setup.outputs)
        env_vars.update(setup.variables)
        if inputs.env_name:
            if inputs.env_name in env_vars:
                raise ConfigError(f"env-name {inputs.env_name} is also a variable this action exports for "
                                  "the key file; choose another env-name")
            env_vars[inputs.env_name] = token.value
        if setup.note:
            stdout.write(github.command_line("warning", setup.note, title="xctoken") + "\n")

        records = [(output_file, github.heredoc_record(k, v)) for k, v in outputs.items()]
        records += [(env_file, github.heredoc_record(k, v)) for k, v in env_vars.items()]
        if setup.launcher_dir:
            records.append((path_file, setup.launcher_dir + "\n"))
        if summary_file:
            records.append((summary_file, summary_markdown(token, setup)))
        # Once the records are in, the key files they point to belong to the job: a cancel that
        # arrives while they are written is delivered after, and must not delete them.
        github.write_records(records, on_written=lambda: done.append(True))
    except XctokenError as error:
        _undo(made, env)
        _fail(stdout, str(error))
        return error.exit_code
    except OSError as error:
        # Writing to the log failed (stdout full or gone): the masks may not have reached the
        # runner, so nothing may be handed over.
        _undo(made, env)
        _fail(stdout, f"cannot write to the job log ({errno.errorcode.get(error.errno or 0, 'I/O error')}); "
                      "nothing was exported")
        return OutputError.exit_code
    except Exception as error:  # noqa: BLE001 - a bug must still not print key material
        _undo(made, env)
        _fail(stdout, f"internal error ({type(error).__name__}); please report it (details are not "
                      "shown because they could contain key material)")
        return 1
    except BaseException:
        # Cancelled (SIGTERM from the runner, Ctrl-C) before the records were in: no key file
        # outlives the step. After, the runner's own clean-up of RUNNER_TEMP removes them.
        if not done:
            _undo(made, env)
        raise
    # The audience is free text: break up "##" so it cannot read as a runner command
    # (the runner acts on "##[stop-commands]..." anywhere in a line).
    stdout.write(inert(printable(log_summary(token, inputs.env_name, setup))) + "\n")
    stdout.flush()
    return 0


@dataclass
class JobSetup:
    """What the action leaves for later steps besides the token."""

    outputs: dict[str, str]
    variables: dict[str, str]
    launcher_dir: str | None = None
    note: str = ""  # a warning when on-demand minting could not be set up whole
    verified: str = ""  # with verify: what Apple said, for the summary

    @property
    def key_dir(self) -> str | None:
        return self.outputs.get("private-keys-dir")


def _verify_with_apple(mode: str, resolved: Resolved, env: Mapping[str, str], stdout: TextIO) -> str:
    """``verify``: ask Apple once (xctoken doctor); refuse the step when Apple refuses the credentials.

    Could not ask (network, proxy, TLS) is a warning, or with ``strict`` a failure.
    """
    if mode == "false":
        return ""
    from .ci import github
    from .doctor import AppleUnreachable, CredentialsRefused, diagnose

    # The probe signs its own token: masked before it leaves, as the step's token is.
    diagnosis = diagnose(resolved.request, resolved.key, env.get("XCTOKEN_API_BASE", "").strip() or None,
                         before_request=lambda token: github.add_masks([token], stdout))
    answer = f"{diagnosis.status} {diagnosis.error_code}".strip()
    if diagnosis.accepted:
        return f"accepted by Apple ({answer}, {diagnosis.method} {diagnosis.url})"
    cause = diagnosis.causes[0] if diagnosis.causes else answer
    if diagnosis.refused:
        raise CredentialsRefused(f"Apple refused the credentials ({answer} to {diagnosis.method} {diagnosis.url}); "
                                 f"most likely: {cause}")
    if mode == "strict":
        raise AppleUnreachable(f"verify: strict, and Apple could not be asked: {cause}")
    stdout.write(github.command_line("warning", f"verify: Apple could not be asked, so the credentials are not "
                                                f"verified: {cause}", title="xctoken") + "\n")
    return f"not verified: {diagnosis.network_error or 'no answer'}"


def configure_job(inputs: ActionInputs, resolved: Resolved, env: Mapping[str, str], made: list[Path]) -> JobSetup:
    """Key files, tool variables and, with mint-on-demand, the launcher and ASC_*/XCTOKEN_* variables."""
    if not inputs.key_files_needed:
        return JobSetup({}, {})
    files = plan_key_files(env)
    owner = _runner_owner(files.local_dir.parent)
    with_json = inputs.write_key_file or any(TOOLS[name].needs_json for name in inputs.export_for)
    keys = write_key_files(resolved, files, owner, with_json, made)
    variables: dict[str, str] = {}
    if inputs.write_key_file:
        variables["API_PRIVATE_KEYS_DIR"] = keys.keys_dir
    variables.update(tool_variables(inputs.export_for, keys))
    launcher_dir, note = None, ""
    if inputs.mint_on_demand:
        variables.update(job_variables(resolved.request, keys.key_path))
        launcher_dir, note = write_launcher(files, owner, env, made)
    return JobSetup(key_outputs(keys, with_json), variables, launcher_dir, note)


def _undo(made: list[Path], env: Mapping[str, str]) -> None:
    """Remove this run's files, then its directories if they are left empty."""
    remove_files(made)
    local_temp = env.get("RUNNER_TEMP", "").strip()
    if local_temp:
        remove_empty_dirs(Path(local_temp) / KEYS_SUBDIR)


def _fail(stdout: TextIO, message: str) -> None:
    from .ci import github

    try:
        line = github.command_line("error", message, title="xctoken")
    except Exception:  # noqa: BLE001 - even without actions-toolkit the failure must show
        line = "::error::" + message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    try:
        stdout.write(line + "\n")
        stdout.flush()
    except (OSError, ValueError):
        pass  # the log cannot take it: the exit code still fails the step


def main(env: Mapping[str, str] | None = None, stdout: TextIO | None = None) -> int:
    guard_process()
    stream = stdout or sys.stdout
    if stream is None:  # started with stdout closed: no mask could reach the runner
        return OutputError.exit_code
    try:
        return run(os.environ if env is None else env, stream)
    except KeyboardInterrupt:  # the runner cancels with SIGINT first: files already removed, no traceback
        return 130
    finally:
        settle_streams()


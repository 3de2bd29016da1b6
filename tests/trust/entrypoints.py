"""Every way into xctoken, as rows the hostile tests run the same cases through.

An :class:`EntryPoint` turns settings (``key``, ``key_id``, ``issuer_id``,
``lifetime``, ``scope``, ``export_name``, ``output_path``) into one real run of the product in a
fresh :class:`Workspace` and returns a :class:`~.leaks.Capture` of every byte it
wrote. It also says where a token is allowed to go for that entry point, which
is what the leak scanner checks against.

Subprocess rows run ``python -m xctoken`` (or the action's entry point) with a
clean environment: HOME, TMPDIR, RUNNER_TEMP and the CI's files all live in the
workspace, so every file the run creates is seen; helper programs (``envman``,
``buildkite-agent``) are recording stand-ins first on PATH.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .corpus import GOOD_ISSUER, GOOD_KEY_ID, Value, as_bytes, representable_in_env
from .leaks import Canary, Capture, install_standins, read_standin_log, snapshot, written_since

ROOT = Path(__file__).resolve().parents[2]
DEBUG_ENV = {"RUNNER_DEBUG": "1", "ACTIONS_STEP_DEBUG": "true", "ACTIONS_RUNNER_DEBUG": "true"}


@dataclass
class Workspace:
    """A fresh directory tree for one run; everything under ``watched`` is scanned afterwards."""

    root: Path

    def __post_init__(self) -> None:
        for sub in ("work", "home", "tmp", "runner_temp", "file_commands", "harness/bin"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for name in ("output", "env", "summary", "state", "path"):
            (self.file_commands / name).touch()
        install_standins(self.bin, self.standin_log, sys.executable)

    work = property(lambda self: self.root / "work")
    home = property(lambda self: self.root / "home")
    tmp = property(lambda self: self.root / "tmp")
    runner_temp = property(lambda self: self.root / "runner_temp")
    file_commands = property(lambda self: self.root / "file_commands")
    bin = property(lambda self: self.root / "harness" / "bin")
    standin_log = property(lambda self: self.root / "harness" / "standins.jsonl")
    github_output = property(lambda self: self.file_commands / "output")
    github_env = property(lambda self: self.file_commands / "env")
    github_summary = property(lambda self: self.file_commands / "summary")
    github_path = property(lambda self: self.file_commands / "path")

    @property
    def watched(self) -> tuple[Path, ...]:
        return (self.work, self.home, self.tmp, self.runner_temp, self.file_commands)

    def base_env(self, **extra: str | bytes) -> dict[str, str | bytes]:
        env: dict[str, str | bytes] = {
            "PATH": f"{self.bin}{os.pathsep}{os.path.dirname(sys.executable)}{os.pathsep}/usr/bin:/bin",
            "HOME": str(self.home), "TMPDIR": str(self.tmp), "LANG": "C.UTF-8",
        }
        env.update(extra)
        return env

    def run(self, argv: list[str], env: Mapping[str, str | bytes], stdin: bytes | None = None,
            timeout: float = 60) -> Capture:
        before = snapshot(*self.watched)
        result = subprocess.run(argv, env=dict(env), input=stdin if stdin is not None else b"",
                                capture_output=True, cwd=self.work, timeout=timeout)
        argvs, stdins = read_standin_log(self.standin_log)
        self.standin_log.unlink(missing_ok=True)
        return Capture(result.stdout, result.stderr, result.returncode,
                       written_since(before, *self.watched), argvs, stdins)


@dataclass
class Expectation:
    """Where a successful run of this entry point is meant to put the token."""

    github: bool = False
    token_on_stdout: bool = False
    token_files: list[Path] = field(default_factory=list)
    token_stdin_ok: tuple[str, ...] = ()
    summary_files: list[Path] = field(default_factory=list)
    key_files: list[Path] = field(default_factory=list)  # where the key is meant to be written


class EntryPoint:
    name = ""
    exports = False  # does it take an export_name?
    output_path_via = ""  # the option or variable an output_path reaches the tool through ("" = none)
    error_prefix = "xctoken: error: "

    def unrepresentable(self, settings: Mapping[str, Value]) -> str | None:
        """Why these settings cannot reach the tool through this entry point (None = they can)."""
        return None

    def run(self, ws: Workspace, canary: Canary, settings: Mapping[str, Value]) -> Capture:
        raise NotImplementedError

    def expectation(self, ws: Workspace) -> Expectation:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name


def _cli(*args: str | bytes) -> list[str | bytes]:
    return [sys.executable, "-m", "xctoken", *args]


def _token_flags(settings: Mapping[str, Value]) -> list[str | bytes]:
    flags: list[str | bytes] = []
    if "lifetime" in settings:
        flags += ["--lifetime", settings["lifetime"]]  # type: ignore[list-item]
    for entry in settings.get("scope", []):  # type: ignore[union-attr]
        flags += ["--scope", entry]
    return flags


def _argv_problem(settings: Mapping[str, Value], keys: tuple[str, ...]) -> str | None:
    for name in keys:
        if name in settings:
            why = representable_in_env(settings[name])
            if why:
                return f"{name}: {why}"
    return None


class CliKeyFile(EntryPoint):
    """``xctoken generate --key FILE`` with every setting as a flag; the token on stdout."""

    name = "cli-key-file"
    output_path_via = "--output"

    def unrepresentable(self, settings: Mapping[str, Value]) -> str | None:
        return _argv_problem(settings, ("key_id", "issuer_id", "lifetime", "scope", "output_path"))

    def run(self, ws: Workspace, canary: Canary, settings: Mapping[str, Value]) -> Capture:
        key_file = ws.work / "AuthKey.p8"
        key_file.write_bytes(as_bytes(settings.get("key", canary.pem())))
        argv = _cli("generate", "--verbose", "--key", str(key_file),
                    "--key-id", settings.get("key_id", GOOD_KEY_ID),  # type: ignore[arg-type]
                    "--issuer-id", settings.get("issuer_id", GOOD_ISSUER),  # type: ignore[arg-type]
                    *_token_flags(settings))
        if "output_path" in settings:
            argv += ["--output", settings["output_path"]]  # type: ignore[list-item]
        return ws.run(argv, ws.base_env())  # type: ignore[arg-type]

    def expectation(self, ws: Workspace) -> Expectation:
        return Expectation(token_on_stdout=True)


class CliEnvGitHub(EntryPoint):
    """``xctoken generate --export NAME`` on a GitHub runner, credentials in ASC_* variables, debug on."""

    name = "cli-env-github"
    exports = True
    output_path_via = "GITHUB_ENV"

    def unrepresentable(self, settings: Mapping[str, Value]) -> str | None:
        return _argv_problem(settings, ("key", "key_id", "issuer_id", "lifetime", "scope", "export_name",
                                        "output_path"))

    def run(self, ws: Workspace, canary: Canary, settings: Mapping[str, Value]) -> Capture:
        env = ws.base_env(**DEBUG_ENV, CI="true", GITHUB_ACTIONS="true",
                          GITHUB_ENV=_env_value(settings.get("output_path", str(ws.github_env))),
                          GITHUB_OUTPUT=str(ws.github_output),
                          GITHUB_STEP_SUMMARY=str(ws.github_summary), RUNNER_TEMP=str(ws.runner_temp),
                          **_asc_variables(canary, settings))
        return ws.run(_export_argv(settings), env)  # type: ignore[arg-type]

    def expectation(self, ws: Workspace) -> Expectation:
        return Expectation(github=True, token_files=[ws.github_env, ws.github_output],
                           summary_files=[ws.github_summary])


def _env_value(value: Value) -> str | bytes:
    return value if isinstance(value, (str, bytes)) else "\n".join(value)


def _asc_variables(canary: Canary, settings: Mapping[str, Value]) -> dict[str, str | bytes]:
    """The case's key, key ID and issuer ID as the project's ASC_* variables."""
    return {"ASC_PRIVATE_KEY": _env_value(settings.get("key", canary.pem())),
            "ASC_KEY_ID": _env_value(settings.get("key_id", GOOD_KEY_ID)),
            "ASC_ISSUER_ID": _env_value(settings.get("issuer_id", GOOD_ISSUER))}


def _export_argv(settings: Mapping[str, Value]) -> list[str | bytes]:
    """``xctoken generate --verbose --export NAME`` plus the case's token flags."""
    return _cli("generate", "--verbose", "--export",
                settings.get("export_name", "APP_STORE_CONNECT_TOKEN"),  # type: ignore[arg-type]
                *_token_flags(settings))


class CliStdinDotenv(EntryPoint):
    """``xctoken generate --key - --dotenv FILE --export NAME`` (GitLab's dotenv report)."""

    name = "cli-stdin-dotenv"
    exports = True
    output_path_via = "--dotenv"

    def unrepresentable(self, settings: Mapping[str, Value]) -> str | None:
        return _argv_problem(settings, ("key_id", "issuer_id", "lifetime", "scope", "export_name", "output_path"))

    def run(self, ws: Workspace, canary: Canary, settings: Mapping[str, Value]) -> Capture:
        argv = _cli("generate", "--verbose", "--key", "-",
                    "--key-id", settings.get("key_id", GOOD_KEY_ID),  # type: ignore[arg-type]
                    "--issuer-id", settings.get("issuer_id", GOOD_ISSUER),  # type: ignore[arg-type]
                    "--dotenv", settings.get("output_path", str(ws.work / "token.env")),  # type: ignore[arg-type]
                    "--export", settings.get("export_name", "APP_STORE_CONNECT_TOKEN"),  # type: ignore[arg-type]
                    *_token_flags(settings))
        env = ws.base_env(CI="true", GITLAB_CI="true")
        return ws.run(argv, env, stdin=as_bytes(settings.get("key", canary.pem())))  # type: ignore[arg-type]

    def expectation(self, ws: Workspace) -> Expectation:
        return Expectation(token_files=[ws.work / "token.env"])


class CliFileAdapter(EntryPoint):
    """``xctoken generate --export NAME`` on a CI whose adapter appends to a file it names in the env."""

    exports = True

    def __init__(self, name: str, marker: dict[str, str], file_variable: str) -> None:
        self.name = name
        self.marker = marker
        self.file_variable = file_variable
        self.output_path_via = file_variable

    def unrepresentable(self, settings: Mapping[str, Value]) -> str | None:
        return _argv_problem(settings, ("key", "key_id", "issuer_id", "lifetime", "scope", "export_name",
                                        "output_path"))

    def target(self, ws: Workspace) -> Path:
        return ws.runner_temp / f"{self.file_variable.lower()}.sh"

    def run(self, ws: Workspace, canary: Canary, settings: Mapping[str, Value]) -> Capture:
        path = _env_value(settings.get("output_path", str(self.target(ws))))
        env = ws.base_env(CI="true", **self.marker, **{self.file_variable: path},
                          **_asc_variables(canary, settings))
        return ws.run(_export_argv(settings), env)  # type: ignore[arg-type]

    def expectation(self, ws: Workspace) -> Expectation:
        return Expectation(token_files=[self.target(ws)])


class CliHelperAdapter(EntryPoint):
    """``xctoken generate --export NAME`` on a CI whose helper program takes the token on stdin."""

    exports = True

    def __init__(self, name: str, marker: dict[str, str], helper: str, token_on_stdout: bool) -> None:
        self.name = name
        self.marker = marker
        self.helper = helper
        self.token_on_stdout = token_on_stdout

    def unrepresentable(self, settings: Mapping[str, Value]) -> str | None:
        return _argv_problem(settings, ("key", "key_id", "issuer_id", "lifetime", "scope", "export_name"))

    def run(self, ws: Workspace, canary: Canary, settings: Mapping[str, Value]) -> Capture:
        env = ws.base_env(CI="true", **self.marker,
                          **_asc_variables(canary, settings))
        return ws.run(_export_argv(settings), env)  # type: ignore[arg-type]

    def expectation(self, ws: Workspace) -> Expectation:
        return Expectation(token_on_stdout=self.token_on_stdout, token_stdin_ok=(self.helper,))


class Library(EntryPoint):
    """The Python API in this process: ``load_private_key`` + ``TokenRequest`` + ``mint_token``."""

    name = "library"

    def run(self, ws: Workspace, canary: Canary, settings: Mapping[str, Value]) -> Capture:
        from xctoken import TokenRequest, XctokenError, load_private_key, mint_token

        kwargs: dict[str, object] = {"key_id": settings.get("key_id", GOOD_KEY_ID),
                                     "issuer_id": settings.get("issuer_id", GOOD_ISSUER),
                                     "scope": tuple(settings.get("scope", ()))}
        if "lifetime" in settings:
            kwargs["lifetime"] = settings["lifetime"]
        try:
            key = load_private_key(settings.get("key", canary.pem()))  # type: ignore[arg-type]
            token = mint_token(TokenRequest(**kwargs), key)  # type: ignore[arg-type]
        except XctokenError as error:
            # What a caller would log: the message, and the repr a logging traceback shows.
            text = f"{self.error_prefix}{error}\n"
            return Capture(b"", text.encode(), error.exit_code, extra=extra_text(error))
        return Capture((token.value + "\n").encode(), f"{token!r} {token}".encode(), 0)

    def expectation(self, ws: Workspace) -> Expectation:
        return Expectation(token_on_stdout=True)


def extra_text(error: BaseException) -> dict[str, bytes]:
    """repr() and args of an exception, as a caller's logging would show them."""
    return {"<repr of the exception>": (repr(error) + repr(error.args)).encode("utf-8", "replace")}


def action_available() -> bool:
    return importlib.util.find_spec("xctoken.action") is not None


def action_command() -> list[str]:
    """How the image starts the action: entrypoint.py when it exists, else the same call it makes."""
    script = ROOT / "entrypoint.py"
    if script.exists():
        return [sys.executable, str(script)]
    return [sys.executable, "-c", "import sys; from xctoken.action import main; sys.exit(main())"]


class Action(EntryPoint):
    """The GitHub action's entry point, as the runner starts it: INPUT_* variables (hyphens kept)."""

    name = "action"
    exports = True
    output_path_via = "GITHUB_OUTPUT"
    error_prefix = "::error"

    def unrepresentable(self, settings: Mapping[str, Value]) -> str | None:
        return _argv_problem(settings, ("key", "key_id", "issuer_id", "lifetime", "scope", "export_name",
                                        "output_path"))

    def run(self, ws: Workspace, canary: Canary, settings: Mapping[str, Value]) -> Capture:
        inputs: dict[str, str | bytes] = {
            "INPUT_PRIVATE-KEY": _env_value(settings.get("key", canary.pem())),
            "INPUT_KEY-ID": _env_value(settings.get("key_id", GOOD_KEY_ID)),
            "INPUT_ISSUER-ID": _env_value(settings.get("issuer_id", GOOD_ISSUER)),
            "INPUT_ENV-NAME": _env_value(settings.get("export_name", "APP_STORE_CONNECT_TOKEN")),
        }
        if "lifetime" in settings:
            inputs["INPUT_LIFETIME"] = _env_value(settings["lifetime"])
        if "scope" in settings:
            inputs["INPUT_SCOPE"] = "\n".join(settings["scope"])  # type: ignore[arg-type]
        env = ws.base_env(**DEBUG_ENV, **inputs, CI="true", GITHUB_ACTIONS="true",
                          GITHUB_ENV=str(ws.github_env),
                          GITHUB_OUTPUT=_env_value(settings.get("output_path", str(ws.github_output))),
                          GITHUB_STEP_SUMMARY=str(ws.github_summary), RUNNER_TEMP=str(ws.runner_temp),
                          GITHUB_PATH=str(ws.github_path), GITHUB_WORKSPACE=str(ws.work))
        return ws.run(action_command(), env)

    def expectation(self, ws: Workspace) -> Expectation:
        # mint-on-demand (the default) leaves the key file for later steps, and only there.
        return Expectation(github=True, token_files=[ws.github_env, ws.github_output],
                           summary_files=[ws.github_summary],
                           key_files=[ws.runner_temp / "xctoken" / "private_keys" / f"AuthKey_{GOOD_KEY_ID}.p8"])


def entry_points() -> list[EntryPoint]:
    rows: list[EntryPoint] = [
        CliKeyFile(), CliEnvGitHub(), CliStdinDotenv(), Library(),
        CliFileAdapter("cli-circleci", {"CIRCLECI": "true"}, "BASH_ENV"),
        CliFileAdapter("cli-codemagic", {"CM_BUILD_ID": "b1"}, "CM_ENV"),
        CliHelperAdapter("cli-bitrise", {"BITRISE_IO": "true"}, "envman", token_on_stdout=False),
        CliHelperAdapter("cli-buildkite", {"BUILDKITE": "true"}, "buildkite-agent", token_on_stdout=True),
    ]
    rows.append(Action())
    return rows

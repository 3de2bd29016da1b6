"""The Buildkite plugin (buildkite-plugin/), run the way buildkite-agent runs it.

- ``plugin.yml`` is checked as Buildkite's plugin linter checks it: against the linter's
  plugin schema (vendored in tests/ci/schemas/, see its header for source and commit),
  its ``configuration`` compiled as a schema of its own and applied to every example in
  the plugin's README and the CI guide (which must also be valid Buildkite pipelines).
- The hooks run as the agent runs a job lifecycle hook (buildkite/agent,
  internal/job/hook/wrapper.go): sourced by bash inside a wrapper script that dumps the
  environment before and after; the difference becomes the environment of the job's later
  phases. The options arrive as the agent derives them from a step's configuration
  (buildkite/agent, agent/plugin/plugin.go: ``Plugin.Name``, ``formatEnvKey``,
  ``ConfigurationToEnvironment``), ported below.
- buildkite-agent cannot be installed here: a recording stand-in of that name is first on
  PATH (helpers.install_standin); it records argv and stdin, the whole interface used.
- Tokens are verified with jwcrypto (helpers.verify), independently of xctoken.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest
import yaml
from conftest import ISSUER_ID, ROOT

from xctoken.services import INPUTS, profiles

from .helpers import install_standin, recorded, verify

if TYPE_CHECKING:
    from conftest import TestKey

PLUGIN = ROOT / "buildkite-plugin"
HOOK = PLUGIN / "hooks" / "pre-command"
PRE_EXIT = PLUGIN / "hooks" / "pre-exit"
PLUGIN_YML: dict[str, Any] = yaml.safe_load((PLUGIN / "plugin.yml").read_text())
CONFIGURATION: dict[str, Any] = PLUGIN_YML["configuration"]
LINTER_SCHEMA = yaml.safe_load((Path(__file__).parent / "schemas" / "buildkite-plugin-yaml-schema.yml").read_text())
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
VENV_BIN = str(Path(sys.executable).parent)
SYSTEM = ["/usr/bin", "/bin"]

# Where a step says the plugin lives (the documented form), and a fork in a repository of its own.
LOCATION = "github.com/xctoken/xctoken-action/buildkite-plugin"
FORK = "github.com/acme/xctoken-buildkite-plugin"
REDACT = ["redactor", "add", "--format", "none"]
ENV_SET = ["env", "set", "--input-format=json", "--output-format=quiet", "-"]
WRAPPER_VARIABLES = {"BUILDKITE_HOOK_EXIT_STATUS", "BUILDKITE_HOOK_WORKING_DIR", "_"}


# -- the agent's side, ported from buildkite/agent agent/plugin/plugin.go -----------------

def agent_plugin_name(location: str) -> str:
    """``Plugin.Name()``: the last segment of where the plugin lives, cleaned up."""
    name = location.replace("\\", "/").rstrip("/").split("/")[-1].lstrip(".")
    name = re.sub(r"[^a-zA-Z0-9]", "-", re.sub(r"\s+", " ", name.lower()))
    return name.replace("-buildkite-plugin-git", "").replace("-buildkite-plugin", "")


def format_env_key(key: str) -> str:
    return re.sub(r"-|\s", "_", key.upper())


def _flatten(into: dict[str, str], value: object, prefix: str) -> None:
    if isinstance(value, bool):
        into[prefix] = "true" if value else "false"
    elif isinstance(value, (str, int, float)):
        into[prefix] = str(value)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(into, item, f"{prefix}_{index}")
    elif isinstance(value, dict):
        for key, item in value.items():
            _flatten(into, item, f"{prefix}_{format_env_key(key)}")
    else:
        raise TypeError(type(value))


def plugin_environment(location: str, config: dict[str, object]) -> dict[str, str]:
    """``ConfigurationToEnvironment()``: what a plugin's hooks get for a step's configuration."""
    name = format_env_key(agent_plugin_name(location))
    env = {"BUILDKITE_PLUGIN_NAME": name, "BUILDKITE_PLUGIN_CONFIGURATION": json.dumps(config)}
    _flatten(env, config, f"BUILDKITE_PLUGIN_{name}")
    return env


def test_the_port_names_variables_as_the_agent_documents() -> None:
    # The agent's own test cases (agent/plugin/plugin_test.go) and this plugin's two locations.
    assert agent_plugin_name("github.com/buildkite-plugins/docker-compose-buildkite-plugin.git") == "docker-compose"
    assert agent_plugin_name("github.com/buildkite/plugins/docker-compose") == "docker-compose"
    assert agent_plugin_name("~/Development/plugins/UPPER     CASE_party") == "upper-case-party"
    assert plugin_environment(LOCATION, {"variable-name": "T", "scope": ["A", "B"], "mint-on-demand": False}) == {
        "BUILDKITE_PLUGIN_NAME": "BUILDKITE_PLUGIN",
        "BUILDKITE_PLUGIN_CONFIGURATION": '{"variable-name": "T", "scope": ["A", "B"], "mint-on-demand": false}',
        "BUILDKITE_PLUGIN_BUILDKITE_PLUGIN_VARIABLE_NAME": "T",
        "BUILDKITE_PLUGIN_BUILDKITE_PLUGIN_SCOPE_0": "A",
        "BUILDKITE_PLUGIN_BUILDKITE_PLUGIN_SCOPE_1": "B",
        "BUILDKITE_PLUGIN_BUILDKITE_PLUGIN_MINT_ON_DEMAND": "false",
    }
    assert plugin_environment(FORK, {"lifetime": 600})["BUILDKITE_PLUGIN_XCTOKEN_LIFETIME"] == "600"


# -- plugin.yml -------------------------------------------------------------------------------

def test_plugin_yml_matches_buildkites_plugin_schema() -> None:
    jsonschema.Draft7Validator.check_schema(LINTER_SCHEMA)
    jsonschema.Draft7Validator(LINTER_SCHEMA).validate(PLUGIN_YML)  # the linter's Ajv is draft-07
    assert set(PLUGIN_YML) == {"name", "description", "author", "requirements", "configuration"}


# Draft-07 keywords: Ajv's strict mode (the linter's default) refuses a schema with any other.
DRAFT7_KEYWORDS = {"type", "description", "default", "enum", "pattern", "minLength", "maxLength", "minimum",
                   "maximum", "anyOf", "oneOf", "items", "minItems", "properties", "additionalProperties",
                   "required", "examples", "title"}


def _keywords(schema: dict[str, Any]) -> set[str]:
    found = set(schema)
    for name in ("items",):
        if isinstance(schema.get(name), dict):
            found |= _keywords(schema[name])
    for name in ("anyOf", "oneOf"):
        for sub in schema.get(name, []):
            found |= _keywords(sub)
    for sub in schema.get("properties", {}).values():
        found |= _keywords(sub)
    return found


def test_configuration_is_a_strict_schema_that_refuses_unknown_options() -> None:
    jsonschema.Draft7Validator.check_schema(CONFIGURATION)
    assert _keywords(CONFIGURATION) <= DRAFT7_KEYWORDS
    assert CONFIGURATION["additionalProperties"] is False
    assert "required" not in CONFIGURATION  # every option is optional
    for name, option in CONFIGURATION["properties"].items():
        assert option.get("description"), name


def config_validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(CONFIGURATION)


SAMPLE = {"variable-name": "ASC_TOKEN", "lifetime": "10m", "scope": ["GET /v1/apps", "GET /v1/builds"],
          "key-type": "team", "service": "app-store-connect", "mint-on-demand": False}


@pytest.mark.parametrize("config", [
    {}, SAMPLE, {"lifetime": 600}, {"scope": "GET /v1/apps"}, {"origin": ["https://example.com"]},
    {"service": "app-store-server", "bundle-id": "com.example.app"},
    {"service": "weatherkit", "team-id": "ABCDE12345", "services-id": "com.example.weather"},
])
def test_configuration_accepts_a_pipelines_options(config: dict[str, object]) -> None:
    config_validator().validate(config)


@pytest.mark.parametrize("config", [
    {"lifetme": "10m"}, {"private-key": "-----BEGIN PRIVATE KEY-----"}, {"variable-name": "A B"},
    {"variable-name": "1TOKEN"}, {"key-type": "admin"}, {"mint-on-demand": "yes"}, {"scope": []},
    {"scope": [""]}, {"service": "app-store-connnect"}, {"lifetime": "20 minutes"}, {"lifetime": 0},
    {"lifetime": True},
])
def test_configuration_refuses_an_unknown_or_malformed_option(config: dict[str, object]) -> None:
    assert not config_validator().is_valid(config)


def test_options_are_the_clis_and_the_service_list_is_the_clis() -> None:
    options = set(CONFIGURATION["properties"])
    # every input a service may need, except the issuer ID, which comes with the key from the environment
    assert {name.replace("_", "-") for name in INPUTS} - {"issuer-id"} <= options
    assert CONFIGURATION["properties"]["service"]["enum"] == [profile.name for profile in profiles()]
    assert CONFIGURATION["properties"]["key-type"]["enum"] == ["team", "individual"]


def test_the_hook_reads_each_option_of_plugin_yml_and_the_readme_documents_it() -> None:
    source = HOOK.read_text()
    read = set(re.findall(r"_xctoken_plugin_(?:option|list) ([A-Z_]+)\)", source))
    assert read == {format_env_key(name) for name in CONFIGURATION["properties"]}
    readme = (PLUGIN / "README.md").read_text()
    for name in CONFIGURATION["properties"]:
        assert f"`{name}`" in readme, name


def test_hooks_are_executable_bash_and_pass_shellcheck() -> None:
    hooks = sorted((PLUGIN / "hooks").iterdir())
    assert [hook.name for hook in hooks] == ["pre-command", "pre-exit"]
    for hook in hooks:
        assert os.access(hook, os.X_OK)
        assert hook.read_text().startswith("#!/bin/bash\n")  # the agent copies the shebang into its wrapper
        text = hook.read_text()
        assert not re.search(r"^\s*set -[a-z]*x", text, re.M)  # xtrace would log the key
        assert "\nset -euo pipefail\n" in text
        assert not re.search(r"(export|local|readonly|declare)\s[^\n]*=\"?\$\(", text)  # would hide a failure
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed")
    result = subprocess.run([shellcheck, "--shell=bash", *map(str, hooks)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# -- the documented examples ------------------------------------------------------------------

YAML_BLOCK = re.compile(r"^```ya?ml\n(.*?)^```$", re.S | re.M)


def documented_pipelines() -> list[tuple[str, str]]:
    guide = (ROOT / "docs" / "ci-guide.md").read_text()
    section = guide[guide.index("## Buildkite\n"):guide.index("\n## ", guide.index("## Buildkite\n") + 1)]
    blocks = [("buildkite-plugin/README.md", block) for block in YAML_BLOCK.findall((PLUGIN / "README.md").read_text())]
    return blocks + [("docs/ci-guide.md", block) for block in YAML_BLOCK.findall(section)]


def plugin_configs(pipeline: str) -> list[tuple[str, dict[str, object]]]:
    found = []
    for step in yaml.safe_load(pipeline)["steps"]:
        for entry in step.get("plugins", []):
            for source, config in (entry.items() if isinstance(entry, dict) else [(entry, None)]):
                location, _, _ = source.partition("#")
                if location.endswith("/buildkite-plugin"):
                    found.append((source, config or {}))
    return found


def test_documented_examples_are_valid_pipelines_with_valid_plugin_options(tmp_path: Path) -> None:
    pipelines = documented_pipelines()
    configs = [config for _, pipeline in pipelines for config in plugin_configs(pipeline)]
    assert len(configs) >= 5
    for source, config in configs:
        # A release tag, as Buildkite recommends (an agent keeps the checkout of a tag it has seen).
        assert re.fullmatch(r"(github\.com/[^/#]+/[^/#]+|https://\S+\.git)/buildkite-plugin#v\d+\.\d+\.\d+", source)
        config_validator().validate(config)
    for index, (path, pipeline) in enumerate(pipelines):
        file = tmp_path / f"pipeline-{index}.yml"
        file.write_text(pipeline)
        result = subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.buildkite", str(file)],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{path}:\n{pipeline}\n{result.stdout}{result.stderr}"


def test_the_guide_shows_the_plugin_first_then_the_cli() -> None:
    guide = (ROOT / "docs" / "ci-guide.md").read_text()
    section = guide[guide.index("## Buildkite\n"):guide.index("## CircleCI\n")]
    plugin, cli = section.index("buildkite-plugin#v"), section.index("xctoken generate --export")
    assert plugin < cli
    assert 'export APP_STORE_CONNECT_TOKEN="' not in section  # export would hide xctoken's failure


# -- running the hooks as the agent does --------------------------------------------------------

WRAPPER = """#!/bin/bash
{dump} > {before}
. {hook}
export BUILDKITE_HOOK_EXIT_STATUS=$?
export BUILDKITE_HOOK_WORKING_DIR="${{PWD}}"
{dump} > {after}
exit $BUILDKITE_HOOK_EXIT_STATUS
"""


@dataclass
class HookRun:
    result: subprocess.CompletedProcess[str]
    before: dict[str, str]
    after: dict[str, str] | None  # None: the hook exited early, so the agent takes no changes
    calls: list[dict[str, Any]]
    argv: list[list[str]] = field(default_factory=list)  # xctoken's own argv, when recorded

    @property
    def changes(self) -> dict[str, str]:
        assert self.after is not None, "the hook exited before the wrapper's second dump"
        return {name: value for name, value in self.after.items()
                if self.before.get(name) != value and name not in WRAPPER_VARIABLES}

    @property
    def removed(self) -> set[str]:
        assert self.after is not None
        return set(self.before) - set(self.after)


class Agent:
    """One job's agent: a recording buildkite-agent, the job's environment, and its hooks."""

    def __init__(self, tmp_path: Path, test_key: TestKey, path: list[str] | None = None, **env: str) -> None:
        self.dir = tmp_path
        self.bin = tmp_path / "agent-bin"
        install_standin(self.bin, "buildkite-agent")
        self.log = tmp_path / "agent.log"
        self.tmp = tmp_path / "tmp"
        self.tmp.mkdir(exist_ok=True)
        (tmp_path / "home").mkdir(exist_ok=True)
        self.key = test_key
        self.env = {"PATH": os.pathsep.join([str(self.bin), *(path if path is not None else [VENV_BIN, *SYSTEM])]),
                    "HOME": str(tmp_path / "home"), "TMPDIR": str(self.tmp), "LANG": "C.UTF-8",
                    "BUILDKITE": "true", "BUILDKITE_JOB_ID": "0190-job", "STANDIN_LOG": str(self.log),
                    "ASC_KEY_ID": test_key.key_id, "ASC_ISSUER_ID": ISSUER_ID, "ASC_PRIVATE_KEY": test_key.pem,
                    **env}
        self.runs = 0

    def run_hook(self, hook: Path, config: dict[str, object] | None = None, location: str = LOCATION,
                 env: dict[str, str] | None = None) -> HookRun:
        self.runs += 1
        before, after = self.dir / f"before-{self.runs}.json", self.dir / f"after-{self.runs}.json"
        dump = f"{shlex.quote(sys.executable)} -I -c 'import json, os; print(json.dumps(dict(os.environ)))'"
        wrapper = self.dir / f"wrapper-{self.runs}"
        wrapper.write_text(WRAPPER.format(dump=dump, before=shlex.quote(str(before)), hook=shlex.quote(str(hook)),
                                          after=shlex.quote(str(after))))
        start = len(recorded(self.log))
        hook_env = {**(env if env is not None else self.env), **plugin_environment(location, config or {})}
        result = subprocess.run(["bash", str(wrapper)], env=hook_env, cwd=self.dir, capture_output=True, text=True,
                                timeout=300)
        dumped = after.read_text() if after.exists() else ""
        return HookRun(result, json.loads(before.read_text()), json.loads(dumped) if dumped else None,
                       recorded(self.log)[start:])

    def job_env(self, run: HookRun) -> dict[str, str]:
        """The environment of the job's next phase: the job's, with the hook's changes."""
        env = {name: value for name, value in self.env.items() if name not in run.removed}
        env.update(run.changes)
        return env

    def later_phase(self, env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(command), env=env, cwd=self.dir, capture_output=True, text=True, timeout=120)


def key_renderings(test_key: TestKey) -> list[str]:
    body = "".join(line for line in test_key.pem.splitlines() if not line.startswith("-----"))
    return [body[i:i + 40] for i in range(0, len(body) - 40, 40)]


def assert_never_shown(run: HookRun, token: str, test_key: TestKey) -> None:
    for text in (run.result.stdout, run.result.stderr):
        assert token not in text
        assert not any(piece in text for piece in key_renderings(test_key))
    for call in run.calls:
        assert all(token not in arg for arg in call["argv"])
    for argv in run.argv:
        assert all(token not in arg for arg in argv)


def recording_xctoken(directory: Path, log: Path) -> Path:
    """An ``xctoken`` that records its argv (NUL-separated, one line per run), then runs the real one."""
    directory.mkdir(parents=True, exist_ok=True)
    shim = directory / "xctoken"
    real = Path(VENV_BIN) / "xctoken"
    shim.write_text(f"#!/bin/bash\n{{ printf '%s\\0' \"$@\"; printf '\\n'; }} >> {shlex.quote(str(log))}\n"
                    f"exec {shlex.quote(str(real))} \"$@\"\n")
    shim.chmod(0o755)
    return directory


def recorded_argv(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [line.split("\0")[:-1] for line in log.read_text().splitlines()]


@pytest.mark.parametrize("job_api", [False, True], ids=["no-job-api", "job-api"])
def test_the_hook_redacts_first_then_exports_a_token_that_verifies(test_key: TestKey, tmp_path: Path,
                                                                  job_api: bool) -> None:
    argv_log = tmp_path / "xctoken-argv"
    shim = recording_xctoken(tmp_path / "shim", argv_log)
    extra = {"BUILDKITE_AGENT_JOB_API_SOCKET": str(tmp_path / "job-api.sock")} if job_api else {}
    agent = Agent(tmp_path, test_key, path=[str(shim), VENV_BIN, *SYSTEM], **extra)
    run = agent.run_hook(HOOK)
    run.argv = recorded_argv(argv_log)
    assert run.result.returncode == 0, run.result.stderr
    token = run.changes["APP_STORE_CONNECT_TOKEN"]
    claims = verify(token, test_key)
    assert claims["exp"] - claims["iat"] == 1200  # type: ignore[operator]
    # The redactor got the token on stdin before anything else; then env set, where the Job API is.
    assert run.calls[0] == {"program": "buildkite-agent", "argv": REDACT, "stdin": token}
    if job_api:
        assert [call["argv"] for call in run.calls] == [REDACT, ENV_SET]
        assert json.loads(run.calls[1]["stdin"]) == {"APP_STORE_CONNECT_TOKEN": token}
    else:
        assert [call["argv"] for call in run.calls] == [REDACT]
    assert run.argv == [["generate", "--ci", "buildkite", "--export=APP_STORE_CONNECT_TOKEN"]]
    assert_never_shown(run, token, test_key)
    assert "redactor" in run.result.stderr  # the CLI's note says where the token went
    # Nothing but the token and the mint-on-demand settings reach the job; nothing is left in TMPDIR.
    assert set(run.changes) == {"APP_STORE_CONNECT_TOKEN"} and not run.removed
    assert list(agent.tmp.iterdir()) == []


@pytest.mark.parametrize("location", [LOCATION, FORK])
def test_the_options_change_the_claims(test_key: TestKey, tmp_path: Path, location: str) -> None:
    agent = Agent(tmp_path, test_key)
    config = {"variable-name": "ASC_TOKEN", "lifetime": "10m", "scope": ["GET /v1/apps", "GET /v1/builds"],
              "mint-on-demand": False}
    config_validator().validate(config)
    run = agent.run_hook(HOOK, config, location=location)
    assert run.result.returncode == 0, run.result.stderr
    assert set(run.changes) == {"ASC_TOKEN"}  # mint-on-demand: false: the token, nothing else
    claims = verify(run.changes["ASC_TOKEN"], test_key)
    assert claims["exp"] - claims["iat"] == 600  # type: ignore[operator]
    assert claims["scope"] == ["GET /v1/apps", "GET /v1/builds"]
    assert run.calls[0]["stdin"] == run.changes["ASC_TOKEN"]
    assert_never_shown(run, run.changes["ASC_TOKEN"], test_key)


def test_a_scope_given_as_one_string_and_a_number_lifetime(test_key: TestKey, tmp_path: Path) -> None:
    run = Agent(tmp_path, test_key).run_hook(HOOK, {"scope": "GET /v1/apps", "lifetime": 300})
    assert run.result.returncode == 0, run.result.stderr
    claims = verify(run.changes["APP_STORE_CONNECT_TOKEN"], test_key)
    assert claims["scope"] == ["GET /v1/apps"] and claims["exp"] - claims["iat"] == 300  # type: ignore[operator]


def test_another_service(test_key: TestKey, tmp_path: Path) -> None:
    run = Agent(tmp_path, test_key).run_hook(HOOK, {"service": "app-store-server", "bundle-id": "com.example.app",
                                                    "variable-name": "SERVER_TOKEN"})
    assert run.result.returncode == 0, run.result.stderr
    claims = verify(run.changes["SERVER_TOKEN"], test_key)
    assert claims["bid"] == "com.example.app"
    assert run.changes["XCTOKEN_SERVICE"] == "app-store-server"
    assert run.changes["XCTOKEN_BUNDLE_ID"] == "com.example.app"


def test_an_individual_key_from_a_base64_variable(test_key: TestKey, tmp_path: Path) -> None:
    import base64

    agent = Agent(tmp_path, test_key)
    env = {name: value for name, value in agent.env.items() if name not in ("ASC_ISSUER_ID", "ASC_PRIVATE_KEY")}
    env["ASC_PRIVATE_KEY_B64"] = base64.b64encode(test_key.pem.encode()).decode()
    run = agent.run_hook(HOOK, {"key-type": "individual"}, env=env)
    assert run.result.returncode == 0, run.result.stderr
    payload = run.changes["APP_STORE_CONNECT_TOKEN"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["sub"] == "user" and "iss" not in claims
    assert run.changes["XCTOKEN_KEY_TYPE"] == "individual"


def test_later_phases_mint_on_demand_with_the_same_settings(test_key: TestKey, tmp_path: Path) -> None:
    agent = Agent(tmp_path, test_key)
    run = agent.run_hook(HOOK, {"lifetime": "15m", "scope": ["GET /v1/apps", "GET /v1/builds?limit=1"]})
    assert run.result.returncode == 0, run.result.stderr
    assert run.changes["XCTOKEN_LIFETIME"] == "15m"
    assert run.changes["XCTOKEN_SCOPE"] == "GET /v1/apps\nGET /v1/builds?limit=1"
    assert "PATH" not in run.changes  # xctoken was on PATH already: nothing to add
    # The command phase: `xctoken generate` with no arguments mints a fresh token like the first.
    later = agent.later_phase(agent.job_env(run), "xctoken", "generate")
    assert later.returncode == 0, later.stderr
    claims = verify(later.stdout, test_key)
    assert claims["exp"] - claims["iat"] == 900  # type: ignore[operator]
    assert claims["scope"] == ["GET /v1/apps", "GET /v1/builds?limit=1"]


def cli_error(agent: Agent, *flags: str) -> subprocess.CompletedProcess[str]:
    """What the CLI itself says for the same flags, in the same environment."""
    return agent.later_phase(agent.env, "xctoken", "generate", "--ci", "buildkite", *flags)


@pytest.mark.parametrize(("config", "flags", "code"), [
    ({"lifetime": "99h"}, ["--export=APP_STORE_CONNECT_TOKEN", "--lifetime=99h"], 3),
    ({"scope": ["GET https://api.appstoreconnect.apple.com/v1/apps"]},
     ["--export=APP_STORE_CONNECT_TOKEN", "--scope=GET https://api.appstoreconnect.apple.com/v1/apps"], 3),
    ({"variable-name": "BUILDKITE_TOKEN"}, ["--export=BUILDKITE_TOKEN"], 3),
    ({"variable-name": "PATH"}, ["--export=PATH"], 3),
    ({"variable-name": "A;B"}, ["--export=A;B"], 3),
    ({"key-type": "admin"}, ["--export=APP_STORE_CONNECT_TOKEN", "--key-type=admin"], 2),
    ({"service": "weatherkit"}, ["--export=APP_STORE_CONNECT_TOKEN", "--service=weatherkit"], 3),
])
def test_a_bad_option_fails_with_the_clis_exit_code_and_one_line(test_key: TestKey, tmp_path: Path,
                                                                 config: dict[str, object], flags: list[str],
                                                                 code: int) -> None:
    agent = Agent(tmp_path, test_key)
    run = agent.run_hook(HOOK, config)
    assert run.result.returncode == code, run.result.stderr
    assert run.result.stderr.count("\n") == 1 and run.result.stderr.startswith("xctoken: error: ")
    assert run.result.stderr == cli_error(agent, *flags).stderr
    assert run.result.stdout == ""
    assert run.after is None  # failed before the wrapper's second dump: the job gets nothing
    assert run.calls == [] and list(agent.tmp.iterdir()) == []


@pytest.mark.parametrize("name", ["XCTOKEN_SCOPE", "ASC_PRIVATE_KEY", "ASC_KEY_ID", "_xct_token"])
def test_a_name_that_would_replace_xctokens_settings_is_refused(test_key: TestKey, tmp_path: Path,
                                                                name: str) -> None:
    run = Agent(tmp_path, test_key).run_hook(HOOK, {"variable-name": name})
    assert run.result.returncode == 3
    [line] = run.result.stderr.splitlines()
    assert line.startswith("xctoken plugin: error: variable-name must not be one of xctoken's settings")
    assert run.calls == [] and run.after is None


def test_a_missing_key_fails_with_exit_4(test_key: TestKey, tmp_path: Path) -> None:
    agent = Agent(tmp_path, test_key)
    env = {name: value for name, value in agent.env.items() if name != "ASC_PRIVATE_KEY"}
    run = agent.run_hook(HOOK, env=env)
    assert run.result.returncode == 4 and run.result.stderr.count("\n") == 1
    assert run.calls == [] and run.after is None


def test_a_malformed_mint_on_demand_fails_before_anything(test_key: TestKey, tmp_path: Path) -> None:
    run = Agent(tmp_path, test_key).run_hook(HOOK, {"mint-on-demand": "maybe"})
    assert run.result.returncode == 3
    assert run.result.stderr == "xctoken plugin: error: mint-on-demand must be true or false\n"
    assert run.calls == [] and run.after is None


def test_when_the_redactor_fails_the_token_goes_nowhere(test_key: TestKey, tmp_path: Path) -> None:
    agent = Agent(tmp_path, test_key, STANDIN_EXIT="1")
    run = agent.run_hook(HOOK)
    assert run.result.returncode == 7
    assert "buildkite-agent redactor add failed with exit code 1" in run.result.stderr
    assert run.result.stdout == "" and run.after is None
    [call] = run.calls
    assert_never_shown(run, str(call["stdin"]), agent.key)


def test_without_buildkite_agent_on_path_it_refuses(test_key: TestKey, tmp_path: Path) -> None:
    agent = Agent(tmp_path, test_key)
    env = {**agent.env, "PATH": os.pathsep.join([VENV_BIN, *SYSTEM])}
    if shutil.which("buildkite-agent", path=env["PATH"]):
        pytest.skip("a real buildkite-agent is installed here")
    run = agent.run_hook(HOOK, env=env)
    assert run.result.returncode == 7 and "buildkite-agent is not on PATH" in run.result.stderr
    assert run.result.stdout == "" and run.after is None


# -- without xctoken on PATH: the plugin's own copy ------------------------------------------------

def python3_dir(directory: Path, python: str = sys.executable) -> str:
    """A directory whose ``python3`` is ``python`` (this venv's: it has cryptography and PyJWT)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "python3").write_text(f"#!/bin/sh\nexec {shlex.quote(python)} \"$@\"\n")
    (directory / "python3").chmod(0o755)
    return str(directory)


def system_tools(directory: Path) -> str:
    """The few programs the hooks use, without python3 or xctoken."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("bash", "dirname", "mktemp", "mkdir", "chmod", "rm", "cat", "env"):
        found = shutil.which(name, path=os.pathsep.join(SYSTEM))
        assert found, name
        (directory / name).symlink_to(found)
    return str(directory)


def test_without_xctoken_on_path_the_plugins_own_copy_mints(test_key: TestKey, tmp_path: Path) -> None:
    tools = system_tools(tmp_path / "tools")
    agent = Agent(tmp_path, test_key, path=[python3_dir(tmp_path / "py"), tools])
    run = agent.run_hook(HOOK, {"lifetime": "5m"})
    assert run.result.returncode == 0, run.result.stderr
    token = run.changes["APP_STORE_CONNECT_TOKEN"]
    verify(token, test_key)
    assert run.calls[0]["argv"] == REDACT and run.calls[0]["stdin"] == token
    assert_never_shown(run, token, test_key)
    # Its xctoken stays on PATH for the job, in a private directory that holds no key.
    work = Path(run.changes["XCTOKEN_BUILDKITE_DIR"])
    assert work.parent == agent.tmp and work.name.startswith("xctoken-buildkite.")
    assert stat.S_IMODE(work.stat().st_mode) == 0o700
    assert run.changes["PATH"].split(os.pathsep)[0] == str(work / "bin")
    assert not any(test_key.pem.splitlines()[1] in path.read_text(errors="replace")
                   for path in work.rglob("*") if path.is_file())
    env = agent.job_env(run)
    later = agent.later_phase(env, "xctoken", "generate")
    assert later.returncode == 0, later.stderr
    claims = verify(later.stdout, test_key)
    assert claims["exp"] - claims["iat"] == 300  # type: ignore[operator]
    # pre-exit removes the directory at the end of the job.
    done = agent.run_hook(PRE_EXIT, {"lifetime": "5m"}, env=env)
    assert done.result.returncode == 0, done.result.stderr
    assert done.result.stdout == done.result.stderr == ""
    assert not work.exists() and list(agent.tmp.iterdir()) == []


def test_the_plugins_own_copy_without_mint_on_demand_leaves_nothing(test_key: TestKey, tmp_path: Path) -> None:
    tools = system_tools(tmp_path / "tools")
    agent = Agent(tmp_path, test_key, path=[python3_dir(tmp_path / "py"), tools])
    run = agent.run_hook(HOOK, {"mint-on-demand": False})
    assert run.result.returncode == 0, run.result.stderr
    assert set(run.changes) == {"APP_STORE_CONNECT_TOKEN"}
    assert list(agent.tmp.iterdir()) == []


def test_pre_exit_removes_only_what_pre_command_made(test_key: TestKey, tmp_path: Path) -> None:
    agent = Agent(tmp_path, test_key)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "file").write_text("keep")
    for target in (precious, tmp_path / "no-such-dir"):
        run = agent.run_hook(PRE_EXIT, env={**agent.env, "XCTOKEN_BUILDKITE_DIR": str(target)})
        assert run.result.returncode == 0 and run.changes == {}
    assert (precious / "file").exists()
    link = agent.tmp / "xctoken-buildkite.link"
    link.symlink_to(precious)
    run = agent.run_hook(PRE_EXIT, env={**agent.env, "XCTOKEN_BUILDKITE_DIR": str(link)})
    assert run.result.returncode == 0 and (precious / "file").exists()
    assert agent.run_hook(PRE_EXIT).result.returncode == 0  # nothing to remove


def test_without_xctoken_or_python_it_says_how_to_install(test_key: TestKey, tmp_path: Path) -> None:
    agent = Agent(tmp_path, test_key, path=[system_tools(tmp_path / "tools")])
    run = agent.run_hook(HOOK)
    assert run.result.returncode == 127
    [line] = run.result.stderr.splitlines()
    assert line.startswith("xctoken plugin: error: xctoken is not on PATH") and "pip install xctoken" in line
    assert run.calls == [] and run.after is None and list(agent.tmp.iterdir()) == []


def bare_python(tmp_path: Path) -> Path:
    """A venv without pip and without site-packages: a python3 that lacks cryptography."""
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    return bare


def test_a_failed_install_leaves_nothing(test_key: TestKey, tmp_path: Path) -> None:
    """A python3 without cryptography, and pip with no index to reach: the step fails cleanly."""
    bare = bare_python(tmp_path)
    agent = Agent(tmp_path, test_key, path=[python3_dir(tmp_path / "py", str(bare / "bin" / "python3")),
                                            system_tools(tmp_path / "tools")], PIP_NO_INDEX="1")
    run = agent.run_hook(HOOK)
    assert run.result.returncode == 127
    last = run.result.stderr.splitlines()[-1]
    assert last.startswith("xctoken plugin: error: xctoken is not on PATH, and installing") and "pip" in last
    assert run.calls == [] and run.after is None and list(agent.tmp.iterdir()) == []


def test_the_install_path_for_real(test_key: TestKey, tmp_path: Path) -> None:
    """A python3 without cryptography: pip installs the pinned wheels (--require-hashes --only-binary)."""
    bare = bare_python(tmp_path)
    agent = Agent(tmp_path, test_key, path=[python3_dir(tmp_path / "py", str(bare / "bin" / "python3")),
                                            system_tools(tmp_path / "tools")])
    run = agent.run_hook(HOOK)
    assert run.result.returncode == 0, run.result.stderr[-2000:]
    token = run.changes["APP_STORE_CONNECT_TOKEN"]
    verify(token, test_key)
    assert_never_shown(run, token, test_key)
    work = Path(run.changes["XCTOKEN_BUILDKITE_DIR"])
    assert (work / "venv").is_dir()
    env = agent.job_env(run)
    later = agent.later_phase(env, "xctoken", "generate")
    assert later.returncode == 0, later.stderr
    verify(later.stdout, test_key)
    assert agent.run_hook(PRE_EXIT, env=env).result.returncode == 0
    assert list(agent.tmp.iterdir()) == []

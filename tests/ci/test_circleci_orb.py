"""The CircleCI orb in orb/src: packed as ``circleci orb pack`` packs it, and its command run as CircleCI runs a step.

Without Docker: the source tree is packed here, in Python, by the rules of the CircleCI
CLI's packer (internal/pack in CircleCI-Public/circleci-cli): files at the root merge into
the top level, ``@`` files merge at their directory's level, every other file becomes a key
named after it under its directory's section, and ``<<include(file)>>`` in jobs, commands
and executors is replaced by the file, relative to the source root. The packed orb, and
each usage example as a config of its own, must match CircleCI's config schema (the
SchemaStore schema vendored in check-jsonschema, offline); every invocation in the
examples and the CI guide must name a real job or command with real parameters; the
offline review checks of the development kit's orb-tools ``review`` job hold; the
command's shell is run by bash with a recording stand-in for xctoken, so the options it
builds from each parameter are known and parsed by the real argument parser.

With Docker: each ``run`` step of the compiled command (or of the ``with_token`` job) runs
in the image built from the repository's Dockerfile the way CircleCI runs a step of a
Docker executor: ``bash -eo pipefail -c COMMAND`` in the primary container (CircleCI does
not use the image's entry point), CIRCLECI=true, BASH_ENV naming a file CircleCI creates
empty, the step's ``environment`` and the project's ASC_* variables (passed by name,
``-e NAME``: no value on the docker command line). A later step is a second container on
the same BASH_ENV: bash itself sources it at start, as on CircleCI. The token it sees is
verified with jwcrypto, and neither it nor the key appears in any step's output.
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from conftest import ISSUER_ID, ROOT

from xctoken.cli import build_parser

from .helpers import install_standin, recorded, verify
from .image import build_image

if TYPE_CHECKING:
    from conftest import TestKey

SOURCE = ROOT / "orb" / "src"
GUIDE = ROOT / "docs" / "ci-guide.md"
GITLAB_TOKEN_COMPONENT = ROOT / "templates" / "token.yml"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
SHELLCHECK = shutil.which("shellcheck") or "/usr/bin/shellcheck"  # Debian's, or Homebrew's on macOS
ORB_REFERENCE = re.compile(r"^xctoken/xctoken@")  # how the examples and the guide import the orb

# The CircleCI CLI's include directive (internal/pack/pack.go, includeRe), searched in these sections only.
INCLUDE = re.compile(r"<<[\s]*include\(([-\w/.]+)\)?[\s]*>>")
INCLUDE_SECTIONS = ("jobs", "commands", "executors")
PARAMETER = re.compile(r"<<\s*parameters\.([\w-]+)\s*>>")
ENV_VAR_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")  # CircleCI's env_var_name type
# Keys of a workflow's job entry that are CircleCI's, not the job's parameters (and may not be parameter names).
WORKFLOW_JOB_KEYS = {"name", "pre-steps", "post-steps", "filters", "requires", "context", "type", "matrix",
                     "override-with", "upstream"}
COMPONENTS = ("commands", "jobs", "executors")
TOKEN_HEADER = "eyJhbGciOiJFUzI1NiIs"  # every ES256 JWT of ours starts with this

# Inside the primary container: CircleCI creates BASH_ENV (empty) before the first step.
JOB_DIR = "/tmp/circleci-job"
BASH_ENV = f"{JOB_DIR}/bash_env"


# --- packing, as `circleci orb pack` does -------------------------------------------------------

def load(path: Path) -> dict[str, Any]:
    # PyYAML reads YAML 1.1, as the config compiler does (and as the packer retags): yes/no/on/off are booleans.
    value = yaml.safe_load(path.read_text())
    if value is None:
        return {}
    assert isinstance(value, dict), f"{path}: the root must be a map"
    return value


def yaml_files(directory: Path) -> Iterator[Path]:
    for entry in sorted(directory.iterdir()):
        if not entry.name.startswith(".") and entry.is_file() and entry.suffix in (".yml", ".yaml"):
            yield entry


def pack_section(directory: Path, origins: dict[str, Path]) -> dict[str, Any]:
    """Below the root: one key per file (``@`` files merge at this level); subdirectories only organise."""
    section: dict[str, Any] = {}
    for path in yaml_files(directory):
        if path.name.startswith("@"):
            section.update(load(path))
            continue
        assert path.stem not in origins, f"{origins[path.stem]} and {path} pack into the same key"
        origins[path.stem] = path
        section[path.stem] = load(path)
    for entry in sorted(directory.iterdir()):
        if entry.is_dir() and not entry.name.startswith("."):
            section.update(pack_section(entry, origins))
    return section


def include(value: Any, root: Path) -> Any:
    if isinstance(value, str):
        # The packer escapes `<<` in what it inlines, so the compiler never reads it as a parameter.
        return INCLUDE.sub(lambda match: (root / match.group(1)).read_text().replace("<<", "\\<<"), value)
    if isinstance(value, dict):
        return {key: include(item, root) for key, item in value.items()}
    if isinstance(value, list):
        return [include(item, root) for item in value]
    return value


def pack(root: Path = SOURCE) -> dict[str, Any]:
    orb: dict[str, Any] = {}
    for path in yaml_files(root):
        orb.update(load(path))
    for entry in sorted(root.iterdir()):
        if entry.is_dir() and not entry.name.startswith("."):
            section = pack_section(entry, {})
            if section:  # a directory with no YAML (scripts/) is not a section
                orb[entry.name] = {**orb.get(entry.name, {}), **section}
    for key in INCLUDE_SECTIONS:
        if key in orb:
            orb[key] = include(orb[key], root)
    return orb


@pytest.fixture(scope="module")
def orb() -> dict[str, Any]:
    return pack()


def check_schema(document: dict[str, Any], path: Path) -> None:
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.circle-ci", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# --- compiling, as CircleCI's config compiler does for what the orb uses ------------------------

def bind(declared: dict[str, Any], given: dict[str, Any] | None, what: str) -> dict[str, Any]:
    """The arguments of an invocation: checked against the declared parameters, defaults filled in."""
    given = dict(given or {})
    unknown = set(given) - set(declared)
    assert not unknown, f"{what}: no parameter {sorted(unknown)} (declared: {sorted(declared)})"
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        assert name in given or "default" in spec, f"{what}: the required parameter {name} is missing"
        value = given.get(name, spec.get("default"))
        kind = spec["type"]
        if kind in ("string", "env_var_name"):
            assert isinstance(value, str), f"{what}: {name} must be a string"
            if kind == "env_var_name":
                assert ENV_VAR_NAME.fullmatch(value), f"{what}: {name}={value!r} is not an env_var_name"
        elif kind == "boolean":
            assert isinstance(value, bool), f"{what}: {name} must be a boolean"
        elif kind == "steps":
            assert isinstance(value, list), f"{what}: {name} must be a list of steps"
        elif kind == "enum":
            assert value in spec["enum"], f"{what}: {name}={value!r} is not one of {spec['enum']}"
        values[name] = value
    return values


def text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def substitute(value: Any, arguments: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = PARAMETER.fullmatch(value.strip())
        if whole:  # a value that is only a parameter takes its type (steps, booleans)
            return arguments[whole.group(1)]
        return PARAMETER.sub(lambda match: text(arguments[match.group(1)]), value)
    if isinstance(value, dict):
        return {key: substitute(item, arguments) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, arguments) for item in value]
    return value


def step_parts(step: Any) -> tuple[str, Any]:
    if isinstance(step, str):
        return step, None
    assert isinstance(step, dict) and len(step) == 1, f"a step is one key: {step!r}"
    return next(iter(step.items()))


def expand(steps: list[Any], commands: dict[str, Any]) -> list[dict[str, Any]]:
    """Steps with `when`, `steps:` and command invocations expanded; `run` in its long form."""
    expanded: list[dict[str, Any]] = []
    for step in steps:
        name, body = step_parts(step)
        if name in ("when", "unless"):
            assert isinstance(body["condition"], bool)
            if body["condition"] == (name == "when"):
                expanded += expand(body["steps"], commands)
        elif name == "steps":
            expanded += expand(body, commands)
        elif name in commands:
            command = commands[name]
            arguments = bind(command.get("parameters", {}), body, f"command {name}")
            expanded += expand(substitute(command["steps"], arguments), commands)
        elif name == "run":
            expanded.append({"run": {"command": body, "name": body} if isinstance(body, str) else body})
        else:
            expanded.append({name: body})
    return expanded


def orb_commands(orb: dict[str, Any], alias: str | None = None) -> dict[str, Any]:
    return {(f"{alias}/{name}" if alias else name): command for name, command in orb["commands"].items()}


def compile_job(orb: dict[str, Any], name: str, given: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An orb job as CircleCI runs it: its executor (resolved) and its steps (expanded)."""
    job = orb["jobs"][name]
    body = substitute({key: value for key, value in job.items() if key not in ("parameters", "description")},
                      bind(job.get("parameters", {}), given, f"job {name}"))
    executor = dict(body["executor"])
    definition = orb["executors"][executor.pop("name")]
    resolved = substitute({key: value for key, value in definition.items() if key not in ("parameters", "description")},
                          bind(definition.get("parameters", {}), executor, "executor"))
    return resolved, expand(body["steps"], orb_commands(orb))


def mint_steps(orb: dict[str, Any], **arguments: str) -> list[dict[str, Any]]:
    """What `- xctoken/mint_token: {...}` in a user's job compiles to."""
    return expand([{"xctoken/mint_token": arguments}], orb_commands(orb, "xctoken"))


def check_invocations(config: dict[str, Any], orb: dict[str, Any], where: str) -> int:
    """Every use of the orb in a config names a real job or command, with real, well-typed parameters."""
    aliases = [alias for alias, reference in (config.get("orbs") or {}).items()
               if isinstance(reference, str) and ORB_REFERENCE.match(reference)]
    assert aliases, f"{where}: the orb is not imported as xctoken/xctoken@<version>"
    count = 0

    def in_steps(steps: list[Any]) -> None:
        nonlocal count
        for step in steps:
            name, body = step_parts(step)
            alias, _, command = name.partition("/")
            if alias in aliases:
                assert command in orb["commands"], f"{where}: no command {command}"
                bind(orb["commands"][command].get("parameters", {}), body, f"{where}: {name}")
                count += 1
            elif name == "when" or name == "unless":
                in_steps(body["steps"])

    for job in (config.get("jobs") or {}).values():
        in_steps(job.get("steps", []))
    for workflow in (config.get("workflows") or {}).values():
        for entry in workflow["jobs"]:
            name, body = step_parts(entry)
            alias, _, job_name = name.partition("/")
            if alias in aliases:
                assert job_name in orb["jobs"], f"{where}: no job {job_name}"
                arguments = {key: value for key, value in (body or {}).items() if key not in WORKFLOW_JOB_KEYS}
                bind(orb["jobs"][job_name].get("parameters", {}), arguments, f"{where}: {name}")
                in_steps(arguments.get("steps", []))
                count += 1
    return count


def guide_section() -> str:
    guide = GUIDE.read_text()
    start = guide.index("\n## CircleCI\n")
    end = guide.find("\n## ", start + 1)
    return guide[start:end if end != -1 else None]


# --- the source tree and the packed orb ---------------------------------------------------------

def test_the_source_tree_has_the_development_kit_layout() -> None:
    for path in ("@orb.yml", "commands/mint_token.yml", "jobs/with_token.yml", "executors/default.yml",
                 "scripts/mint_token.sh"):
        assert (SOURCE / path).is_file(), path
    assert list((SOURCE / "examples").glob("*.yml"))


def test_packing_merges_the_tree_and_inlines_the_script(orb: dict[str, Any]) -> None:
    assert orb["version"] == 2.1
    assert set(orb) == {"version", "description", "display", "commands", "jobs", "executors", "examples"}
    assert set(orb["commands"]) == {"mint_token"}
    assert set(orb["jobs"]) == {"with_token"}
    assert set(orb["executors"]) == {"default"}
    [step] = orb["commands"]["mint_token"]["steps"]
    # `<<include(...)>>` is the whole value, and the script has no `<<` the packer would escape.
    assert INCLUDE.fullmatch(load(SOURCE / "commands" / "mint_token.yml")["steps"][0]["run"]["command"])
    assert step["run"]["command"] == (SOURCE / "scripts" / "mint_token.sh").read_text()
    assert "include(" not in yaml.safe_dump(orb)


def test_packer_rules_match_the_circleci_cli(tmp_path: Path) -> None:
    (tmp_path / "commands" / "nested").mkdir(parents=True)
    (tmp_path / "scripts").mkdir()
    (tmp_path / "@orb.yml").write_text("version: 2.1\ndescription: d\n")
    (tmp_path / "commands" / "@common.yml").write_text("shared: {steps: [checkout]}\n")
    (tmp_path / "commands" / "nested" / "deep.yml").write_text("steps: [checkout]\n")
    (tmp_path / "commands" / "greet.yml").write_text("steps:\n  - run: <<include(scripts/greet.sh)>>\n")
    (tmp_path / "scripts" / "greet.sh").write_text("cat <<EOF\nhi\nEOF\n")
    packed = pack(tmp_path)
    assert packed == {"version": 2.1, "description": "d", "commands": {
        "shared": {"steps": ["checkout"]}, "greet": {"steps": [{"run": "cat \\<<EOF\nhi\nEOF\n"}]},
        "deep": {"steps": ["checkout"]}}}


def _vendored_circleci_schema_is_older_than_0_39() -> bool:
    from importlib import metadata

    version = tuple(int(part) for part in metadata.version("check-jsonschema").split(".")[:2] if part.isdigit())
    return version < (0, 39)


# check-jsonschema 0.39 needs Python 3.11: requirements/dev-py310.txt has 0.38, whose vendored
# CircleCI schema still refuses `resource_class: << parameters.resource_class >>` in an executor.
@pytest.mark.skipif(_vendored_circleci_schema_is_older_than_0_39(),
                    reason="check-jsonschema < 0.39 (Python 3.10's lock) vendors an older CircleCI schema that "
                           "refuses a parameterised executor resource_class; checked on Python 3.11+")
def test_packed_orb_matches_the_circleci_schema(orb: dict[str, Any], tmp_path: Path) -> None:
    check_schema(orb, tmp_path / "orb.yml")


@pytest.mark.parametrize("name", sorted(path.stem for path in (SOURCE / "examples").glob("*.yml")))
def test_usage_examples_are_valid_configs_using_the_orb(orb: dict[str, Any], tmp_path: Path, name: str) -> None:
    usage = orb["examples"][name]["usage"]
    check_schema(usage, tmp_path / f"{name}.yml")
    assert check_invocations(usage, orb, f"example {name}") >= 1


def test_the_guide_uses_only_real_jobs_commands_and_parameters(orb: dict[str, Any], tmp_path: Path) -> None:
    blocks = [yaml.safe_load(block) for block in re.findall(r"^```ya?ml\n(.*?)^```$", guide_section(), re.S | re.M)]
    configs = [block for block in blocks if isinstance(block, dict) and "orbs" in block]
    assert configs, "the CI guide's CircleCI section shows no config using the orb"
    assert "orbs" in blocks[0], "the CircleCI section shows the orb first"
    for number, config in enumerate(configs):
        check_schema(config, tmp_path / f"guide-{number}.yml")
        assert check_invocations(config, orb, f"guide block {number}") >= 1


def uses(value: Any) -> set[str]:
    return set(PARAMETER.findall(yaml.safe_dump(value)))


@pytest.mark.parametrize("section", COMPONENTS)
def test_every_parameter_is_declared_and_used(orb: dict[str, Any], section: str) -> None:
    for name, component in orb[section].items():
        declared = set(component.get("parameters", {}))
        used = uses({key: value for key, value in component.items() if key != "parameters"})
        assert used <= declared, f"{section}/{name} uses undeclared {sorted(used - declared)}"
        assert declared <= used, f"{section}/{name} declares unused {sorted(declared - used)}"


def test_with_token_takes_the_commands_parameters_with_its_defaults(orb: dict[str, Any]) -> None:
    command = orb["commands"]["mint_token"]["parameters"]
    job = orb["jobs"]["with_token"]["parameters"]
    for name, spec in command.items():
        assert {key: job[name].get(key) for key in ("type", "default")} == \
               {key: spec.get(key) for key in ("type", "default")}, name
    job_steps = orb["jobs"]["with_token"]["steps"]
    assert {"mint_token": {name: f"<< parameters.{name} >>" for name in command}} in job_steps
    assert not set(job) & WORKFLOW_JOB_KEYS  # CircleCI reserves these names for workflow job entries


def test_command_parameters_match_the_gitlab_component(orb: dict[str, Any]) -> None:
    # One set of inputs across the plugins: the GitLab `token` component's, in CircleCI's snake_case.
    gitlab = next(yaml.safe_load_all(GITLAB_TOKEN_COMPONENT.read_text()))["spec"]["inputs"]
    for name, spec in orb["commands"]["mint_token"]["parameters"].items():
        assert spec["default"] == gitlab[name.replace("_", "-")]["default"], name


def test_review_checks_of_the_development_kit(orb: dict[str, Any]) -> None:
    """orb-tools `review` (CircleCI-Public/orb-tools-orb, src/scripts/review.bats), the checks that need no network."""
    assert orb["display"]["source_url"].startswith("https://")  # RC001
    assert len(orb["description"]) >= 64  # RC005
    assert orb["examples"] and not [name for name in orb["examples"] if "example" in name]  # RC003, RC004
    for section in (*COMPONENTS, "examples"):
        for name, component in orb[section].items():
            assert str(component.get("description") or "").strip(), f"{section}/{name}: no description"  # RC002
            assert "-" not in name, f"{section}/{name}: not snake_case"  # RC010
            for parameter, spec in component.get("parameters", {}).items():
                assert "-" not in parameter, f"{section}/{name}: parameter {parameter} not snake_case"  # RC010
                assert str(spec.get("description") or "").strip(), f"{section}/{name}: {parameter} undocumented"
                assert "$" not in str(spec.get("default", "")), f"{section}/{name}: {parameter}"  # RC012
    runs = [(path.name, run) for section in COMPONENTS for path in (SOURCE / section).glob("*.yml")
            for run in run_steps(load(path))]
    assert runs
    for name, run in runs:
        assert isinstance(run, dict) and run.get("name"), f"{name}: a run step has no name"  # RC008
        command = run["command"]
        assert len(command) <= 64 or INCLUDE.fullmatch(command), f"{name}: include the script"  # RC009


def run_steps(value: Any) -> Iterator[Any]:
    """Every `run:` in a component's source, however deep (in `when`, in `steps`)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "run":
                yield item
            else:
                yield from run_steps(item)
    elif isinstance(value, list):
        for item in value:
            yield from run_steps(item)


# --- the command's shell ------------------------------------------------------------------------

SCRIPT = SOURCE / "scripts" / "mint_token.sh"


def test_script_rules() -> None:
    script = SCRIPT.read_text()
    lines = [line.strip() for line in script.splitlines()]
    assert lines[0] == "#!/usr/bin/env bash"
    code = [line for line in lines if line and not line.startswith("#")]
    assert code[0] == "set -euo pipefail"
    program = "\n".join(code)
    assert "set -x" not in program and "xtrace" not in program
    assert "<<" not in script  # the packer would escape it; a heredoc is not needed
    assert "BASH_ENV" not in program  # xctoken writes it (quoted, all or nothing), not the script
    assert "$(" not in program and "`" not in program  # nothing is captured: no token in a variable
    assert os.access(SCRIPT, os.X_OK)


def test_script_passes_shellcheck() -> None:
    if not Path(SHELLCHECK).is_file():
        pytest.skip("shellcheck is not installed")
    result = subprocess.run([SHELLCHECK, "--shell=bash", "--severity=style", str(SCRIPT)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def run_on_host(run: dict[str, Any], tmp_path: Path, with_xctoken: bool = True) -> subprocess.CompletedProcess[str]:
    """The step's command in bash on this machine, with a stand-in xctoken that records its argv."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if with_xctoken:
        install_standin(bin_dir, "xctoken")
    env = {"PATH": os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"]), "STANDIN_LOG": str(tmp_path / "log"),
           "CIRCLECI": "true", "BASH_ENV": str(tmp_path / "bash_env"),
           **{name: text(value) for name, value in run.get("environment", {}).items()}}
    return subprocess.run(["bash", "-eo", "pipefail", "-c", run["command"]], env=env, capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)


HOSTILE_SCOPE = "GET /v1/apps?filter[name]=$(touch pwned)`touch pwned2`"


@pytest.mark.parametrize(("arguments", "argv"), [
    ({}, ["generate", "--ci=circleci", "--export=APP_STORE_CONNECT_TOKEN", "--service=app-store-connect"]),
    ({"variable_name": "ASC_JWT", "lifetime": "10m", "service": "", "scope": "GET /v1/apps\n\n  \nGET /v1/builds\n"},
     ["generate", "--ci=circleci", "--export=ASC_JWT", "--lifetime=10m", "--scope=GET /v1/apps",
      "--scope=GET /v1/builds"]),
    ({"lifetime": "-5", "scope": HOSTILE_SCOPE},
     ["generate", "--ci=circleci", "--export=APP_STORE_CONNECT_TOKEN", "--service=app-store-connect",
      "--lifetime=-5", f"--scope={HOSTILE_SCOPE}"]),
    ({"service": "weatherkit", "lifetime": "1h"},
     ["generate", "--ci=circleci", "--export=APP_STORE_CONNECT_TOKEN", "--service=weatherkit", "--lifetime=1h"]),
])
def test_each_parameter_becomes_one_xctoken_option(orb: dict[str, Any], tmp_path: Path,
                                                   arguments: dict[str, str], argv: list[str]) -> None:
    [step] = mint_steps(orb, **arguments)
    result = run_on_host(step["run"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    [call] = recorded(tmp_path / "log")
    assert call["argv"] == argv and call["stdin"] == ""
    assert not list(tmp_path.glob("pwned*"))  # a parameter value is data, never shell code
    parsed = build_parser().parse_args(argv)  # each option is one the real CLI takes
    assert (parsed.command, parsed.ci, parsed.export) == ("generate", "circleci", arguments.get(
        "variable_name", "APP_STORE_CONNECT_TOKEN"))


def test_without_xctoken_on_path_the_step_fails_and_says_why(orb: dict[str, Any], tmp_path: Path) -> None:
    [step] = mint_steps(orb)
    result = run_on_host(step["run"], tmp_path, with_xctoken=False)
    assert result.returncode == 127
    assert "xctoken is not on PATH" in result.stderr and "xctoken/default" in result.stderr
    assert not (tmp_path / "bash_env").exists()


# --- in the image, as CircleCI runs the steps of a Docker executor ------------------------------

@pytest.fixture
def image(require_docker: None) -> str:
    return build_image()


class Job:
    """One CircleCI job: a primary container per step on a shared BASH_ENV, and the project's variables."""

    def __init__(self, image: str, directory: Path, project: dict[str, str]) -> None:
        self.image, self.directory, self.project = image, directory, project
        directory.mkdir()
        (directory / "bash_env").write_text("")  # CircleCI creates it before the first step
        self.outputs: list[str] = []
        self.argvs: list[list[str]] = []

    @property
    def bash_env(self) -> str:
        return (self.directory / "bash_env").read_text()

    def run(self, run: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        environment = {"CIRCLECI": "true", "CI": "true", "BASH_ENV": BASH_ENV, **self.project,
                       **{name: text(value) for name, value in run.get("environment", {}).items()}}
        argv = ["docker", "run", "--rm", "--entrypoint", "/bin/bash", "-v", f"{self.directory}:{JOB_DIR}",
                "-w", JOB_DIR]
        for name in sorted(environment):
            argv += ["-e", name]  # by name: the values stay off the command line
        argv += [self.image, "-eo", "pipefail", "-c", run["command"]]
        docker_env = {name: value for name, value in os.environ.items() if name in ("PATH", "HOME") or
                      name.startswith("DOCKER_")}
        result = subprocess.run(argv, env={**docker_env, **environment}, capture_output=True, text=True, timeout=180)
        self.argvs.append(argv)
        self.outputs.append(result.stdout + result.stderr)
        return result

    def later_step_sees(self, name: str) -> str:
        """A later step: bash sources BASH_ENV at start; the step hands the value to the test in a 0600 file."""
        result = self.run({"command": f'umask 077; test -n "${{{name}:-}}"; printf %s "${name}" > seen'})
        assert result.returncode == 0, result.stdout + result.stderr
        return (self.directory / "seen").read_text()

    def assert_nothing_secret_shown(self, secrets: list[str]) -> None:
        shown = "\n".join(self.outputs)
        command_lines = "\n".join(" ".join(argv) for argv in self.argvs)
        assert TOKEN_HEADER not in shown
        for secret in secrets:
            assert secret not in shown and secret not in command_lines


def project_variables(test_key: TestKey) -> dict[str, str]:
    """Project Settings > Environment Variables, as the guide says to store the key."""
    return {"ASC_KEY_ID": test_key.key_id, "ASC_ISSUER_ID": ISSUER_ID,
            "ASC_PRIVATE_KEY_B64": base64.b64encode(test_key.pem.encode()).decode()}


def key_renderings(test_key: TestKey) -> list[str]:
    lines = [line for line in test_key.pem.splitlines() if line and not line.startswith("-----")]
    return [project_variables(test_key)["ASC_PRIVATE_KEY_B64"], *lines]


@pytest.mark.docker
def test_mint_token_step_then_a_later_step_in_the_image(orb: dict[str, Any], image: str, tmp_path: Path,
                                                        test_key: TestKey) -> None:
    job = Job(image, tmp_path / "job", project_variables(test_key))
    [step] = mint_steps(orb, lifetime="10m", scope="GET /v1/apps\n")
    result = job.run(step["run"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "exported through $BASH_ENV" in result.stderr and "never print it" in result.stderr
    token = job.later_step_sees("APP_STORE_CONNECT_TOKEN")
    assert job.bash_env == f"export APP_STORE_CONNECT_TOKEN={shlex.quote(token)}\n"
    claims = verify(token, test_key)
    assert claims["exp"] - claims["iat"] == 600  # type: ignore[operator]
    assert claims["scope"] == ["GET /v1/apps"]
    job.assert_nothing_secret_shown([token, *key_renderings(test_key)])


@pytest.mark.docker
def test_with_token_job_runs_the_given_steps_with_the_token(orb: dict[str, Any], image: str, tmp_path: Path,
                                                           test_key: TestKey) -> None:
    given_step = {"run": {"name": "Use the token", "command": (
        'python3 -c \'import os; t = os.environ["ASC_JWT"]; assert t.count(".") == 2\' && echo "token: present"')}}
    executor, steps = compile_job(orb, "with_token", {"image": image, "variable_name": "ASC_JWT",
                                                         "steps": [given_step]})
    assert executor == {"docker": [{"image": image}], "resource_class": "small"}
    assert [next(iter(step)) for step in steps] == ["run", "run"]  # no checkout: the image has no git
    assert steps[1] == given_step
    job = Job(executor["docker"][0]["image"], tmp_path / "job", project_variables(test_key))
    for step in steps:
        result = job.run(step["run"])
        assert result.returncode == 0, result.stdout + result.stderr
    assert job.outputs[1].strip() == "token: present"
    token = job.later_step_sees("ASC_JWT")
    verify(token, test_key)
    job.assert_nothing_secret_shown([token, *key_renderings(test_key)])


@pytest.mark.docker
@pytest.mark.parametrize(("arguments", "drop", "code", "message"), [
    ({}, "ASC_PRIVATE_KEY_B64", 4, "no private key given"),
    ({"variable_name": "CIRCLE_TOKEN"}, "", 3, "CircleCI reserves variables starting with CIRCLE"),
    ({"scope": "GET https://api.example/v1/apps"}, "", 3, "must not include the host"),
    ({"lifetime": "2h"}, "", 3, "over 1200 s without a scope"),
])
def test_a_failed_mint_fails_the_step_and_hands_nothing_on(orb: dict[str, Any], image: str, tmp_path: Path,
                                                           test_key: TestKey,
                                                           arguments: dict[str, str], drop: str, code: int,
                                                           message: str) -> None:
    project = {name: value for name, value in project_variables(test_key).items() if name != drop}
    job = Job(image, tmp_path / "job", project)
    [step] = mint_steps(orb, **arguments)
    result = job.run(step["run"])
    assert result.returncode == code, result.stderr
    assert message in result.stderr and result.stdout == ""
    assert job.bash_env == ""
    job.assert_nothing_secret_shown(key_renderings(test_key))

"""Every example step that runs xctoken fails when xctoken fails.

``export APP_STORE_CONNECT_TOKEN="$(xctoken generate)"`` returns export's status, 0, so a job
with ``set -e`` carries on with an empty token and fails later, somewhere that says nothing
about the key. The same goes for ``xctoken generate | tee``, a call inside an ``until``
condition or a pipeline stage (set -e does not apply there), and a script whose last command
succeeds after xctoken failed. This test takes every shell step that calls xctoken from:

- examples/** (YAML pipelines, the Jenkinsfile's ``sh`` steps, TeamCity's ``scriptContent``),
- templates/*.yml (GitLab components, ``$[[ inputs.* ]]`` replaced by their defaults),
- orb/src/** (CircleCI; ``<<include(...)>>`` and ``<< parameters.* >>`` expanded),
- buildkite-plugin/ (the pre-command hook, sourced as the agent does),
- the Bitrise step (bitrise/step.sh, with its Python side failing),
- the fenced ```bash / ```sh / ```yaml (and ```groovy / ```kotlin) blocks of README.md,
  docs/*.md and the plugins' READMEs,

and runs it with the shell options its CI uses, a fake ``xctoken`` first on PATH that prints
an error and exits 3, and every other command a stand-in that succeeds (curl, jq, xcrun,
fastlane, pip, gh, ...: bash's command_not_found_handle; ``python3 -m venv`` makes a venv whose
``bin/xctoken`` is the fake; ``docker run <xctoken image> ...`` runs the fake; ``sleep`` returns
at once and stops a loop that comes back a fourth time). The step must then exit non-zero,
and the fake must have run: a test that never reached xctoken proves nothing.

The shells, from each CI's documentation or source:
- GitHub Actions, a ``run:`` step without ``shell:``: ``bash -e {0}``; ``shell: bash``:
  ``bash --noprofile --norc -eo pipefail {0}``; ``shell: sh``: ``sh -e {0}`` (the workflow
  syntax reference, jobs.<job_id>.steps[*].shell; github/docs#23853).
- GitLab Runner (bash): the script starts ``if set -o | grep pipefail ...; then set -o
  pipefail; fi; set -o errexit`` (gitlab-runner shells/bash.go, BashWriter.Finish): -eo pipefail.
- CircleCI: ``/bin/bash -eo pipefail`` (configuration reference, default shell options; the
  login profile is skipped here so that the stand-ins' PATH survives).
- Buildkite: the agent's default shell, ``/bin/bash -e -c`` (agent configuration, ``shell``).
- Jenkins ``sh``: ``sh -xe`` (the step's help: "the shell will be invoked with the -ex option").
- Azure Pipelines ``script``, TeamCity's command line runner, Bitrise's Script step: bash with
  no options; the step fails on the script's exit status only.
- Codemagic: not documented that we found [open]: taken as bash with no options, the weakest.
- A fenced block in the documentation: ``bash -e``, what a reader's CI step gives it at least.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT

BASH = shutil.which("bash") or "/bin/bash"
FAKE_EXIT = 3
TIMEOUT = 30
SHELLS: dict[str, list[str]] = {
    "github": [BASH, "-e", "{0}"],
    "github shell: bash": [BASH, "--noprofile", "--norc", "-eo", "pipefail", "{0}"],
    "github shell: sh": [BASH, "--posix", "-e", "{0}"],
    "gitlab": [BASH, "--noprofile", "--norc", "-eo", "pipefail", "{0}"],
    "circleci": [BASH, "--noprofile", "--norc", "-eo", "pipefail", "{0}"],
    "buildkite": [BASH, "-e", "-c", ". {0}"],
    "buildkite hook": [BASH, "-c", ". {0}"],  # the hook sets its own options
    "jenkins": [BASH, "--posix", "-xe", "{0}"],
    "azure": [BASH, "--noprofile", "--norc", "{0}"],
    "teamcity": [BASH, "{0}"],
    "bitrise": [BASH, "{0}"],
    "codemagic": [BASH, "{0}"],
    "docs": [BASH, "-e", "{0}"],
}
# A command that runs xctoken: the CLI (on PATH or by path), or the image's entry point.
CALLS_XCTOKEN = re.compile(r"(?<![\w.-])(?:[\w.~/${}-]*/)?xctoken\s+(?:generate|decode|check|doctor|services)\b"
                           r"|xctoken-action:\S+\s+(?:generate|decode|check|doctor)\b"
                           r"|(?<![\w./-])xctoken\s+\"\$\{\w+\[@\]\}\"")  # xctoken "${args[@]}"
COMMENT = re.compile(r"(?:^|(?<=\s))#.*$", re.M)
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
MARKDOWN = sorted({ROOT / "README.md", ROOT / "SECURITY.md", *(ROOT / "docs").glob("*.md"),
                   ROOT / "templates" / "README.md", ROOT / "orb" / "README.md",
                   ROOT / "buildkite-plugin" / "README.md"})
# Names the stand-in environment sets itself, or that change how a shell starts.
OWN_NAMES = {"PATH", "HOME", "PWD", "OLDPWD", "IFS", "TMPDIR", "SHELL", "BASH_ENV", "ENV", "BASH_SOURCE",
             "BASH_VERSION", "BASHPID", "LINENO", "RANDOM", "SECONDS", "UID", "EUID", "PPID", "HOSTNAME",
             "CDPATH", "PS4", "LANG", "LC_ALL"}
UTILITIES = ["cat", "grep", "sed", "tr", "head", "tail", "cut", "sort", "uniq", "wc", "mkdir", "rmdir", "rm",
             "chmod", "cp", "mv", "touch", "ln", "mktemp", "dirname", "basename", "env", "true", "false", "date",
             "id", "uname", "tee", "awk", "base64", "od", "xargs", "find", "ls", "printf", "expr"]


@dataclass(frozen=True)
class Step:
    where: str  # file:line and the step's place in it
    ci: str  # a key of SHELLS
    script: str
    env: Mapping[str, str] = field(default_factory=dict)
    whole_file: bool = False  # a script run as is (a hook), whether or not it names xctoken


def calls_xctoken(script: str) -> bool:
    return bool(CALLS_XCTOKEN.search(COMMENT.sub("", script)))


def line_of(text: str, script: str, start: int = 0) -> int:
    first = next((line.strip() for line in script.splitlines() if line.strip()), "")
    index = text.find(first, start) if first else -1
    return text.count("\n", 0, max(index, start)) + 1


def scalars(mapping: object) -> dict[str, str]:
    if not isinstance(mapping, dict):
        return {}
    return {str(k): "" if v is None else str(v) for k, v in mapping.items() if not isinstance(v, (dict, list))}


# ------------------------------------------------------------------------------ YAML pipelines


def inherited_env(holders: list[Any], *keys: str) -> dict[str, str]:
    """The variables a step gets from the mappings around it, outermost first; "a.b" is a nested key."""
    env: dict[str, str] = {}
    for holder in holders:
        for key in keys:
            value: Any = holder
            for part in key.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            env.update(scalars(value))
    return env


def gitlab_inputs(documents: list[Any]) -> dict[str, str]:
    spec = documents[0].get("spec", {}) if len(documents) > 1 and isinstance(documents[0], dict) else {}
    return {name: str(opts.get("default", "")) for name, opts in (spec.get("inputs") or {}).items()}


def circleci_parameters(document: Any) -> dict[str, str]:
    params = document.get("parameters") if isinstance(document, dict) else None
    return {name: str(opts.get("default", "")) for name, opts in (params or {}).items() if isinstance(opts, dict)}


def expand(text: str, ci: str, inputs: Mapping[str, str], orb_src: Path | None) -> str:
    text = re.sub(r"\$\{\{.*?\}\}", "x", text)  # GitHub expressions
    text = re.sub(r"\$\[\[\s*inputs\.([\w-]+)\s*\]\]", lambda m: inputs.get(m.group(1), ""), text)  # GitLab
    if orb_src is not None:
        text = re.sub(r"<<\s*include\(([^)]+)\)\s*>>", lambda m: (orb_src / m.group(1).strip()).read_text(), text)
    text = re.sub(r"<<\s*parameters\.([\w-]+)\s*>>", lambda m: inputs.get(m.group(1), ""), text)  # CircleCI
    if ci == "buildkite":
        text = text.replace("$$", "$")  # upload-time interpolation's escape
    return text


def walk(node: Any, trail: list[tuple[object, Any]]) -> Iterator[tuple[list[tuple[object, Any]], Any]]:
    yield trail, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, [*trail, (key, node)])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, [*trail, (index, node)])


def github_shell(step: dict[str, Any], trail: list[tuple[object, Any]]) -> str:
    shell = step.get("shell")
    for _, parent in reversed(trail):
        if shell is None and isinstance(parent, dict) and isinstance(parent.get("defaults"), dict):
            shell = (parent["defaults"].get("run") or {}).get("shell")
    if shell is None:
        return "github"
    word = str(shell).split()[0]
    return {"bash": "github shell: bash", "sh": "github shell: sh"}.get(word, "github shell: bash")


def yaml_steps(path: Path, text: str, label: str, hint: str | None = None, offset: int = 0) -> list[Step]:
    """The shell steps of one YAML text (a file, or a fenced block at ``offset`` in ``path``)."""
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError:
        return []  # test_examples.py checks that every YAML block parses
    if hint is None:
        hint = ("circleci" if re.search(r"^\s*(?:version: 2\.1|orbs:|docker:|macos:|machine:|executor:)", text, re.M)
                else "github")
    inputs = gitlab_inputs(documents)
    orb_src = next((p for p in path.parents if p.name == "src" and p.parent.name == "orb"), None)
    whole = (ROOT / path).read_text() if offset else text
    found: list[Step] = []
    for document in documents:
        parameters = circleci_parameters(document)
        for trail, node in walk(document, []):
            if not trail or not isinstance(trail[-1][1], dict):
                continue
            key, parent = trail[-1]
            ancestors = [p for _, p in trail]
            place = ".".join(str(k) for k, _ in trail)
            if key == "run" and isinstance(node, (str, dict)):
                ci = "circleci" if hint == "circleci" else github_shell(parent, trail[:-1])
                raw, env_keys = (node, ("env",)) if isinstance(node, str) else (node.get("command", ""), ())
                if isinstance(node, dict):
                    ci, env = "circleci", scalars(node.get("environment"))
                else:
                    env = inherited_env([*ancestors, parent], *env_keys, "environment")
            elif key in ("script", "before_script", "after_script") and isinstance(node, (str, list)):
                grand = trail[-2] if len(trail) > 1 else (None, None)
                if isinstance(grand[1], list):  # an item of a list of steps
                    great = trail[-3][0] if len(trail) > 2 else None
                    ci = "codemagic" if great == "scripts" else "azure"
                else:
                    ci = "gitlab"
                raw = "\n".join(str(line) for line in node) if isinstance(node, list) else node
                env = inherited_env([*ancestors, parent], "variables", "env", "environment.vars")
            elif key in ("command", "commands") and isinstance(node, (str, list)) and \
                    not any(k == "run" for k, _ in trail[:-1]):
                ci = "buildkite"
                raw = "\n".join(str(line) for line in node) if isinstance(node, list) else node
                env = inherited_env([*ancestors, parent], "env")
            elif key == "content" and isinstance(node, str):
                ci, raw, env = "bitrise", node, {}
            else:
                continue
            values = {**inputs, **parameters}
            script = expand(str(raw), ci, values, orb_src)
            env = {name: expand(value, ci, values, orb_src) for name, value in env.items()}
            if calls_xctoken(script):
                line = line_of(whole, str(raw), offset)
                found.append(Step(f"{path.relative_to(ROOT)}:{line} {label}{place}", ci, script, env))
    return found


# ---------------------------------------------------------------------- Jenkins, TeamCity, hooks


GROOVY_SH = re.compile(r"\bsh\s*\(?\s*(?:script:\s*)?(?:'''(.*?)'''|\"\"\"(.*?)\"\"\"|'((?:[^'\\\n]|\\.)*)'"
                       r"|\"((?:[^\"\\\n]|\\.)*)\")", re.S)
KOTLIN_SCRIPT = re.compile(r"scriptContent\s*=\s*(?:\"\"\"(.*?)\"\"\"|\"((?:[^\"\\\n]|\\.)*)\")", re.S)


def groovy_steps(path: Path, text: str, label: str = "", offset: int = 0) -> list[Step]:
    whole = (ROOT / path).read_text()
    found = []
    for match in GROOVY_SH.finditer(text):
        script = next(group for group in match.groups() if group is not None)
        if calls_xctoken(script):
            line = line_of(whole, script, offset)
            found.append(Step(f"{path.relative_to(ROOT)}:{line} {label}sh step", "jenkins", script))
    return found


def kotlin_steps(path: Path, text: str, label: str = "", offset: int = 0) -> list[Step]:
    whole = (ROOT / path).read_text()
    found = []
    for match in KOTLIN_SCRIPT.finditer(text):
        raw, plain = match.group(1), match.group(2)
        script = raw if raw is not None else plain.encode().decode("unicode_escape")
        script = "\n".join(line.strip() for line in script.replace("${'$'}", "$").splitlines())  # trimIndent
        if calls_xctoken(script):
            line = line_of(whole, raw if raw is not None else plain, offset)
            found.append(Step(f"{path.relative_to(ROOT)}:{line} {label}scriptContent", "teamcity", script))
    return found


def markdown_steps(path: Path) -> list[Step]:
    text = path.read_text()
    found: list[Step] = []
    for match in FENCE.finditer(text):
        language, body = match.group(1).lower(), match.group(2)
        line = text.count("\n", 0, match.start()) + 1
        label = f"(```{language} block at line {line}) "
        if language in ("bash", "sh", "shell"):
            if calls_xctoken(body):
                found.append(Step(f"{path.relative_to(ROOT)}:{line} {label.strip()}", "docs", body))
        elif language in ("yaml", "yml"):
            found += yaml_steps(path, body, label, offset=match.start(2))
        elif language == "groovy":
            found += groovy_steps(path, body, label, match.start(2))
        elif language == "kotlin":
            found += kotlin_steps(path, body, label, match.start(2))
    return found


def all_steps() -> list[Step]:
    steps: list[Step] = []
    for path in sorted((ROOT / "examples").rglob("*")):
        if not path.is_file():
            continue
        if path.suffix in (".yml", ".yaml"):
            steps += yaml_steps(path, path.read_text(), "", "circleci" if "circleci" in path.parts else "github")
        elif path.name == "Jenkinsfile":
            steps += groovy_steps(path, path.read_text())
        elif path.suffix == ".kts":
            steps += kotlin_steps(path, path.read_text())
    for path in sorted((ROOT / "templates").glob("*.yml")):
        steps += yaml_steps(path, path.read_text(), "", "gitlab")
    for path in sorted((ROOT / "orb" / "src").rglob("*.yml")):
        steps += yaml_steps(path, path.read_text(), "", "circleci")
    hook = ROOT / "buildkite-plugin" / "hooks" / "pre-command"
    steps.append(Step(f"{hook.relative_to(ROOT)}:1 (the whole hook)", "buildkite hook", f'. "{hook}"\n',
                      {"BUILDKITE": "true", "BUILDKITE_PLUGIN_NAME": "XCTOKEN"}, whole_file=True))
    for path in MARKDOWN:
        if path.is_file():
            steps += markdown_steps(path)
    return steps


STEPS = all_steps()


# ------------------------------------------------------------------------------ the stand-ins


PRELUDE = """\
# Added by tests/ci/test_examples_fail_loudly.py: every command that is not on PATH succeeds.
command_not_found_handle() {{ printf '%s\\n' "$1" >>'{state}/stubbed'; [ -t 0 ] || cat >/dev/null 2>&1; return 0; }}
export -f command_not_found_handle
"""
FAKE_XCTOKEN = """#!/bin/sh
# Fake xctoken: says why it fails, as xctoken does, and fails.
printf '%s\\n' "$*" >>'{state}/xctoken-calls'
echo "xctoken: error: the key ID is missing (fake xctoken of test_examples_fail_loudly.py)" >&2
exit {code}
"""
# For the other half: xctoken works, and Apple answers 401 (curl -f exits 22).
WORKING_XCTOKEN = """#!/bin/sh
printf '%s\\n' "$*" >>'{state}/xctoken-calls'
echo "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"
"""
FAILING_CURL = """#!/bin/sh
printf '%s\\n' "$*" >>'{state}/curl-calls'
[ -t 0 ] || cat >/dev/null
echo "curl: (22) The requested URL returned error: 401" >&2
exit 22
"""
CURL_EXIT = 22
FAKE_DOCKER = """#!/bin/sh
# `docker run [options] <xctoken image> [args]` runs the image's entry point: the fake xctoken.
[ "$1" = run ] || exit 0
shift
while [ $# -gt 0 ]; do
    case $1 in *xctoken-action*) shift; break ;; esac
    shift
done
case ${{1:-}} in
    "" | -* | generate | decode | check | doctor | services) exec '{stubs}/xctoken' "$@" ;;
    *) exec "$@" ;;
esac
"""
FAKE_SLEEP = """#!/bin/sh
# sleep returns at once; the fourth sleep of a step is a loop that retries a failed xctoken.
count=$(cat '{state}/sleeps' 2>/dev/null || echo 0)
count=$((count + 1))
echo "$count" >'{state}/sleeps'
if [ "$count" -gt 3 ]; then
    echo looping >'{state}/looping'
    kill -KILL 0
fi
exit 0
"""
FAKE_PYTHON = """#!/bin/sh
# python3 -m venv DIR makes a venv whose pip succeeds and whose xctoken is the fake; all else succeeds.
if [ "$1" = -m ] && [ "$2" = venv ]; then
    shift 2
    for dir in "$@"; do
        case $dir in -*) continue ;; esac
        mkdir -p "$dir/bin"
        for tool in pip pip3 python python3; do printf '#!/bin/sh\\nexit 0\\n' >"$dir/bin/$tool"; done
        cp '{stubs}/xctoken' "$dir/bin/xctoken"
        chmod 755 "$dir/bin/"*
    done
fi
exit 0
"""


@dataclass
class Outcome:
    returncode: int | None
    stdout: str
    stderr: str
    xctoken_calls: int
    looping: bool
    stubbed: list[str]
    curl_calls: int = 0


def install(directory: Path, name: str, text: str) -> None:
    path = directory / name
    path.write_text(text)
    path.chmod(0o755)


def stand_in_environment(tmp_path: Path, failing: str = "xctoken") -> tuple[dict[str, str], Path, Path, Path]:
    stubs, utils, state, home, work = (tmp_path / name for name in ("stubs", "utils", "state", "home", "work"))
    for directory in (stubs, utils, state, home, work, tmp_path / "tmp"):
        directory.mkdir(parents=True, exist_ok=True)
    fill = {"state": state, "stubs": stubs, "code": FAKE_EXIT}
    install(stubs, "xctoken", (FAKE_XCTOKEN if failing == "xctoken" else WORKING_XCTOKEN).format(**fill))
    if failing == "curl":
        install(stubs, "curl", FAILING_CURL.format(**fill))
    install(stubs, "docker", FAKE_DOCKER.format(**fill))
    install(stubs, "sleep", FAKE_SLEEP.format(**fill))
    for name in ("python3", "python"):
        install(stubs, name, FAKE_PYTHON.format(**fill))
    for name in UTILITIES:
        real = shutil.which(name)
        if real:
            (utils / name).symlink_to(real)
    (tmp_path / "bash_env").write_text("")
    env = {"PATH": f"{stubs}{os.pathsep}{utils}", "HOME": str(home), "TMPDIR": str(tmp_path / "tmp"),
           "LANG": "C.UTF-8", "BASH_ENV": str(tmp_path / "bash_env")}
    return env, state, work, stubs


def run_step(step: Step, tmp_path: Path, failing: str = "xctoken") -> Outcome:
    env, state, work, _ = stand_in_environment(tmp_path, failing)
    # Every variable the step reads gets a value, so `set -u` or an `[ -z "$X" ] && exit 1` guard
    # cannot fail the step for us: only xctoken may.
    referenced = set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", step.script))
    env.update({name: f"dummy-{name.lower()}" for name in referenced - OWN_NAMES})
    env.update({name: value for name, value in step.env.items() if name not in OWN_NAMES})
    # Scripts the step runs by a relative path exist and succeed.
    for relative in set(re.findall(r"(?<![\w$/.-])\.{1,2}/[\w./-]+\.(?:sh|py|rb)\b", step.script)):
        target = (work / relative).resolve()
        if work in target.parents:
            target.parent.mkdir(parents=True, exist_ok=True)
            install(target.parent, target.name, "#!/bin/sh\nexit 0\n")
    script = tmp_path / "step.sh"
    script.write_text(PRELUDE.format(state=state) + step.script.rstrip("\n") + "\n")
    argv = [word.replace("{0}", str(script)) for word in SHELLS[step.ci]]
    process = subprocess.Popen(argv, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
        returncode: int | None = process.returncode
    except subprocess.TimeoutExpired:
        returncode = None
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # the step's own process group, and nothing else
        except (ProcessLookupError, PermissionError):
            pass  # already gone
    if returncode is None:
        stdout, stderr = process.communicate()
    calls = state / "xctoken-calls"
    stubbed = state / "stubbed"
    curl_calls = state / "curl-calls"
    return Outcome(returncode, stdout.decode(errors="replace"), stderr.decode(errors="replace"),
                   len(calls.read_text().splitlines()) if calls.exists() else 0, (state / "looping").exists(),
                   stubbed.read_text().split() if stubbed.exists() else [],
                   len(curl_calls.read_text().splitlines()) if curl_calls.exists() else 0)


# -------------------------------------------------------------------------------------- tests


def test_the_steps_are_found() -> None:
    places = {step.where.split(":")[0] for step in STEPS}
    # One or more from each kind of source, so a change in the extraction cannot empty the test.
    for expected in ("examples/gitlab/.gitlab-ci.yml", "examples/github/rotate-sign-in-with-apple.yml",
                     "examples/azure/azure-pipelines.yml", "examples/circleci/config.yml",
                     "examples/buildkite/pipeline.yml", "examples/bitrise/bitrise.yml",
                     "examples/codemagic/codemagic.yaml", "examples/jenkins/Jenkinsfile",
                     "examples/teamcity/settings.kts", "templates/token.yml", "orb/src/commands/mint_token.yml",
                     "buildkite-plugin/hooks/pre-command", "README.md"):
        assert expected in places, f"no step calling xctoken found in {expected}"
    assert len(STEPS) >= 25


@pytest.mark.parametrize("step", STEPS, ids=[step.where for step in STEPS])
def test_the_step_fails_when_xctoken_fails(step: Step, tmp_path: Path) -> None:
    outcome = run_step(step, tmp_path)
    shell = " ".join(SHELLS[step.ci])
    context = (f"\n{step.where} [{step.ci}: {shell}]\n--- the step ---\n{step.script.rstrip()}\n"
               f"--- its stderr (last lines) ---\n{chr(10).join(outcome.stderr.splitlines()[-8:])}")
    assert outcome.xctoken_calls, ("the step never ran the fake xctoken, so this proves nothing: "
                                   "the extraction or the stand-ins need work" + context)
    assert not outcome.looping, ("after xctoken failed the step kept retrying (it slept 4 times): a call in an "
                                 "`until`/`while` condition or a pipeline stage is out of set -e's reach; "
                                 "assign on a line of its own" + context)
    assert outcome.returncode is not None, f"the step did not end within {TIMEOUT} s" + context
    assert outcome.returncode != 0, (f"the step exited 0 although xctoken failed (exit {FAKE_EXIT}): "
                                     "the failure is hidden (export VAR=\"$(...)\", `| tee`, `|| true`, or a "
                                     "later command's status); assign on a line of its own, then export" + context)


CURL_STEPS = [step for step in STEPS if re.search(r"\bcurl\b", step.script)]


@pytest.mark.parametrize("step", CURL_STEPS, ids=[step.where for step in CURL_STEPS])
def test_the_step_fails_when_apple_refuses_the_token(step: Step, tmp_path: Path) -> None:
    """The other half of failing loudly: xctoken works, curl -f gets a 401 (exit 22).

    A polling loop that hides curl's failure (in an `until` condition, or a pipeline without
    pipefail) waits until the job times out, on exactly the 401 the loop exists for.
    """
    outcome = run_step(step, tmp_path, failing="curl")
    shell = " ".join(SHELLS[step.ci])
    context = (f"\n{step.where} [{step.ci}: {shell}]\n--- the step ---\n{step.script.rstrip()}\n"
               f"--- its stderr (last lines) ---\n{chr(10).join(outcome.stderr.splitlines()[-8:])}")
    assert outcome.curl_calls, "the step never ran curl, so this proves nothing" + context
    assert not outcome.looping, ("after curl failed (401) the step kept polling: curl's status is lost in an "
                                 "`until` condition or a pipeline; call it on a line of its own" + context)
    assert outcome.returncode not in (0, None), f"the step did not fail although curl exited {CURL_EXIT}" + context


def test_curl_steps_are_found() -> None:
    assert any(step.where.startswith("README.md") for step in CURL_STEPS)
    assert len(CURL_STEPS) >= 5


def test_the_bitrise_step_fails_when_its_python_side_fails(tmp_path: Path) -> None:
    # bitrise/step.sh runs bitrise/step.py (xctoken's own code), not the xctoken command: a
    # failing python3 run of step.py stands for the failing xctoken.
    env, state, work, stubs = stand_in_environment(tmp_path)
    install(stubs, "python3", f"""#!/bin/sh
case "$*" in
    *step.py*)
        printf 'step.py\\n' >>'{state}/xctoken-calls'
        echo "xctoken: error: (fake) no key" >&2
        exit {FAKE_EXIT} ;;
esac
exit 0
""")
    result = subprocess.run([BASH, str(ROOT / "bitrise" / "step.sh")], cwd=work, env=env, capture_output=True,
                            text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    assert (state / "xctoken-calls").exists(), result.stderr
    assert result.returncode == FAKE_EXIT, (result.returncode, result.stderr)


def test_a_hidden_failure_is_caught(tmp_path: Path) -> None:
    # The test itself can fail: the pattern issue #14 is about, in each kind of step it runs.
    hidden = 'export APP_STORE_CONNECT_TOKEN="$(xctoken generate)"\n./scripts/upload.sh\n'
    for ci in ("github", "gitlab", "circleci", "buildkite", "docs"):
        outcome = run_step(Step("(inline)", ci, hidden), tmp_path / ci)
        assert outcome.xctoken_calls == 1 and outcome.returncode == 0, (ci, outcome)
    looping = ('set -eu\nget() { token=$(xctoken generate) || exit; echo "$token"; }\n'
               'until get | grep -q VALID; do sleep 60; done\n')
    outcome = run_step(Step("(inline)", "docs", looping), tmp_path / "looping")
    assert outcome.looping, outcome


if __name__ == "__main__":  # a list of what is checked: python tests/ci/test_examples_fail_loudly.py
    for step in STEPS:
        print(f"{step.ci:20} {step.where}", file=sys.stdout)

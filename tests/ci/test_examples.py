"""The copy-paste examples and the CI guide: valid for their CI, and only real xctoken options.

CI configuration files are checked against the CIs' published JSON schemas as
vendored in check-jsonschema (offline); the others are parsed as YAML. Every
`xctoken generate ...` command in the examples and the guide is parsed by the
real argument parser, so a renamed or misspelt option fails here.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from action import test_lint
from conftest import ROOT

from xctoken.cli import build_parser

CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
SCHEMAS = [
    ("vendor.gitlab-ci", "examples/gitlab/.gitlab-ci.yml"),
    ("vendor.gitlab-ci", "tests/e2e/gitlab/.gitlab-ci.yml"),
    ("vendor.azure-pipelines", "examples/azure/azure-pipelines.yml"),
    ("vendor.circle-ci", "examples/circleci/config.yml"),
    ("vendor.buildkite", "examples/buildkite/pipeline.yml"),
    ("vendor.github-workflows", "examples/github/rotate-sign-in-with-apple.yml"),
]
YAML_ONLY = ["examples/bitrise/bitrise.yml", "examples/codemagic/codemagic.yaml", "step.yml"]
# The README and every page under docs/ (a new page is covered without being listed here).
DOCUMENTS = ["README.md", *sorted(str(path.relative_to(ROOT)) for path in (ROOT / "docs").glob("*.md")),
             "SECURITY.md", "examples/jenkins/Jenkinsfile", "examples/teamcity/settings.kts",
             *(path for _, path in SCHEMAS), *YAML_ONLY]
COMMAND = re.compile(r"xctoken generate[^\"'`)|;<>&#\n]*")
# A fenced block marked ```text is a program's output (the README's benchmark table), not commands.
OUTPUT_BLOCK = re.compile(r"^```text\n.*?^```$", re.S | re.M)


@pytest.mark.parametrize(("schema", "path"), SCHEMAS)
def test_ci_configuration_matches_the_ci_schema(schema: str, path: str) -> None:
    # The Azure schema's patterns need Python's regex engine; it changes nothing for the others.
    result = subprocess.run([str(CHECK_JSONSCHEMA), "--regex-variant", "python", "--builtin-schema", schema,
                             str(ROOT / path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", YAML_ONLY)
def test_yaml_parses(path: str) -> None:
    assert isinstance(yaml.safe_load((ROOT / path).read_text()), dict)


# Example GitHub workflows live under examples/github/, where this repository's CI does not run
# them; they get the linters .github/workflows gets (tests/action/test_lint.py), with the same actionlint.
GITHUB_EXAMPLES = sorted((ROOT / "examples" / "github").glob("*.yml"))
actionlint = test_lint.actionlint


def test_github_examples_exist() -> None:
    assert GITHUB_EXAMPLES


def test_github_examples_pass_actionlint(actionlint: list[str]) -> None:
    result = test_lint.run(*actionlint, *GITHUB_EXAMPLES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_github_examples_pass_zizmor() -> None:
    result = test_lint.run(test_lint.tool("zizmor"), "--offline", "--no-progress", *GITHUB_EXAMPLES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def commands() -> list[tuple[str, str]]:
    found = []
    for path in DOCUMENTS:
        for match in COMMAND.finditer(OUTPUT_BLOCK.sub("", (ROOT / path).read_text())):
            found.append((path, match.group(0).strip()))
    return found


YAML_BLOCK = re.compile(r"^```ya?ml\n(.*?)^```$", re.S | re.M)


@pytest.mark.parametrize("path", [path for path in DOCUMENTS if path.endswith(".md")])
def test_yaml_snippets_in_documents_parse(path: str) -> None:
    # A plain `run: printf 'Authorization: ...'` is not YAML (": " in a plain scalar); a reader
    # pasting it gets a workflow GitHub refuses.
    for block in YAML_BLOCK.findall((ROOT / path).read_text()):
        yaml.safe_load(block)


def test_examples_show_commands() -> None:
    assert len(commands()) >= 10


@pytest.mark.parametrize(("path", "command"), commands())
def test_every_documented_command_parses(path: str, command: str) -> None:
    argv = [word for word in shlex.split(command)[1:] if word != "\\"]
    args = build_parser().parse_args(argv)
    assert args.command == "generate"
    if args.export is not None:
        assert re.fullmatch(r"[A-Z_]+", args.export), f"{path}: {command}"

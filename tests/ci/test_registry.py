"""The adapter registry: detection from each CI's variable, --ci overrides, shared refusals."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from conftest import run_cli

from xctoken.ci import ADAPTERS, check_name, check_value, detect_ci, load_adapter
from xctoken.errors import ConfigError, OutputError

from .helpers import cli_env, verify

if TYPE_CHECKING:
    from conftest import TestKey

DETECTED = [
    ({"GITHUB_ACTIONS": "true"}, "github"),
    ({"GITLAB_CI": "true"}, "gitlab"),
    ({"BITRISE_IO": "true"}, "bitrise"),
    ({"TF_BUILD": "True"}, "azure"),
    ({"BUILDKITE": "true"}, "buildkite"),
    ({"CIRCLECI": "true"}, "circleci"),
    ({"CM_BUILD_ID": "5f1e"}, "codemagic"),
    ({"TEAMCITY_VERSION": "2024.03"}, "teamcity"),
    ({"JENKINS_URL": "https://ci.example/", "BUILD_ID": "17"}, "jenkins"),
    ({"JENKINS_URL": "https://ci.example/"}, "none"),  # Jenkins needs both
    ({"CI": "true"}, "none"),
    ({}, "none"),
    ({"GITLAB_CI": "false", "CIRCLECI": "1"}, "none"),
]


@pytest.mark.parametrize(("env", "expected"), DETECTED)
def test_detects_each_ci_from_its_variable(env: dict[str, str], expected: str) -> None:
    assert detect_ci(env) == expected


def test_every_adapter_has_the_module_contract() -> None:
    for name in (*ADAPTERS, "none"):
        module = load_adapter(name)
        assert isinstance(module.TITLE, str) and module.TITLE
        assert callable(module.detect) and callable(module.export)
        assert module.detect({}) is False


def test_ci_none_overrides_detection_and_prints_the_token(test_key: TestKey, tmp_path) -> None:
    env = cli_env(test_key, tmp_path, GITLAB_CI="true", CIRCLECI="true", BASH_ENV=str(tmp_path / "bash_env"))
    result = run_cli("generate", "--export", "--ci", "none", env=env)
    assert result.returncode == 0, result.stderr
    verify(result.stdout.decode(), test_key)
    assert not (tmp_path / "bash_env").exists()


def test_ci_name_is_case_insensitive(test_key: TestKey, tmp_path) -> None:
    env = cli_env(test_key, tmp_path, BASH_ENV=str(tmp_path / "bash_env"))
    result = run_cli("generate", "--export", "--ci", "CircleCI", env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "bash_env").read_text().startswith("export APP_STORE_CONNECT_TOKEN=")


def test_unknown_ci_is_a_configuration_error(test_key: TestKey, tmp_path) -> None:
    result = run_cli("generate", "--export", "--ci", "travis", env=cli_env(test_key, tmp_path))
    assert result.returncode == 3
    assert result.stdout == b""
    assert b"unknown CI 'travis'" in result.stderr


def test_dotenv_with_another_ci_is_refused(test_key: TestKey, tmp_path) -> None:
    env = cli_env(test_key, tmp_path, BASH_ENV=str(tmp_path / "bash_env"))
    result = run_cli("generate", "--export", "--ci", "circleci", "--dotenv", str(tmp_path / "t.env"), env=env)
    assert result.returncode == 3
    assert b"--dotenv writes a GitLab dotenv report" in result.stderr
    assert not (tmp_path / "t.env").exists() and not (tmp_path / "bash_env").exists()


def test_dotenv_alone_picks_gitlab_anywhere(test_key: TestKey, tmp_path) -> None:
    result = run_cli("generate", "--dotenv", str(tmp_path / "t.env"), env=cli_env(test_key, tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""
    name, value = (tmp_path / "t.env").read_text().rstrip("\n").split("=", 1)
    assert name == "APP_STORE_CONNECT_TOKEN"
    verify(value, test_key)


def test_output_only_goes_with_stdout_adapters(test_key: TestKey, tmp_path) -> None:
    env = cli_env(test_key, tmp_path, TEAMCITY_VERSION="2024.03")
    result = run_cli("generate", "--export", "--output", str(tmp_path / "tok"), env=env)
    assert result.returncode == 3
    assert b"--output goes with --ci none or jenkins" in result.stderr
    assert result.stdout == b"" and not (tmp_path / "tok").exists()


@pytest.mark.parametrize("name", ["PATH", "HOME", "BASH_ENV", "LD_PRELOAD", "DYLD_INSERT_LIBRARIES", "path",
                                  "NODE_OPTIONS", "IFS", "GITHUB_TOKEN", "INPUT_TOKEN", "PYTHONHOME",
                                  "JAVA_TOOL_OPTIONS", "GIT_SSH_COMMAND", "HTTPS_PROXY", "https_proxy",
                                  "ALL_PROXY", "NO_PROXY", "GIT_CONFIG_COUNT", "RUBYOPT"])
def test_names_every_step_relies_on_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="every later step relies on"):
        check_name(name, "Some CI")


def test_ci_reserved_prefixes_are_refused() -> None:
    with pytest.raises(ConfigError, match="Some CI reserves variables starting with CI_"):
        check_name("ci_token", "Some CI", ("CI_",))
    assert check_name("MY_TOKEN", "Some CI", ("CI_",)) == "MY_TOKEN"


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\x00b", "\x1b[31m", "a\x7f", ""])
def test_values_with_control_characters_are_refused_without_showing_them(value: str) -> None:
    with pytest.raises(OutputError) as caught:
        check_value("TOKEN", value, "Some CI")
    assert "TOKEN" in str(caught.value)
    if value:
        assert value not in str(caught.value)


def test_forbidden_characters_are_named_not_the_value() -> None:
    with pytest.raises(OutputError, match=r"holds '\$', which Some CI cannot carry"):
        check_value("TOKEN", "secret$tail", "Some CI", "$")


def test_unknown_ci_never_echoes_a_key_given_as_the_name(test_key: TestKey, tmp_path) -> None:
    # `--ci "$KEY"` (a variable mix-up) must not quote the key back, not even case-folded.
    body_line = test_key.pem.splitlines()[2]
    for value in (body_line, test_key.pem):
        result = run_cli("generate", "--export", "--ci", value, env=cli_env(test_key, tmp_path))
        assert result.returncode == 3
        stderr = result.stderr.decode()
        assert stderr.count("\n") == 1 and "unknown CI (value not shown)" in stderr
        for start in range(len(body_line) - 15):
            assert body_line[start:start + 16].lower() not in stderr.lower()

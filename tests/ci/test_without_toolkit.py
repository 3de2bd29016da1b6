"""xctoken installed without the ``github`` extra (no actions-toolkit), run on a GitHub runner.

actions-toolkit is made unimportable by a package of that name, first on PYTHONPATH,
that raises ImportError: exactly what a plain ``pip install xctoken`` looks like.
"""

from __future__ import annotations

from pathlib import Path

from conftest import TestKey, run_cli

from .helpers import cli_env, verify


def _without_toolkit(tmp_path: Path, **extra: str) -> dict[str, str]:
    blocker = tmp_path / "blocked" / "actions_toolkit"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('actions-toolkit is not installed')\n")
    return {**extra, "PYTHONPATH": str(blocker.parent)}


def test_plain_generate_still_prints_the_token_and_says_it_is_not_masked(test_key: TestKey,
                                                                          tmp_path: Path) -> None:
    env = cli_env(test_key, tmp_path, **_without_toolkit(tmp_path, GITHUB_ACTIONS="true", CI="true"))
    result = run_cli("generate", env=env)
    assert result.returncode == 0, result.stderr
    token = result.stdout.decode().strip()
    verify(token, test_key)
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xctoken: warning: the token is not masked")
    assert "xctoken[github]" in lines[0] and token not in result.stderr.decode()


def test_export_on_github_fails_cleanly_and_writes_nothing(test_key: TestKey, tmp_path: Path) -> None:
    github_env = tmp_path / "github_env"
    github_env.write_text("")
    env = cli_env(test_key, tmp_path, **_without_toolkit(tmp_path, GITHUB_ACTIONS="true", CI="true",
                                                         GITHUB_ENV=str(github_env)))
    result = run_cli("generate", "--export", env=env)
    assert result.returncode == 7
    assert result.stdout == b""
    (line,) = result.stderr.decode().splitlines()
    assert line.startswith("xctoken: error: GitHub Actions support needs actions-toolkit")
    assert github_env.read_text() == ""

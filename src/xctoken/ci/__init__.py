"""Hand a token to later CI steps, one small adapter per CI system.

Each adapter is a module here with ``TITLE``, ``detect(env) -> bool`` and
``export(job) -> list[str]`` (the returned lines are non-secret notes for
stderr). Adapters are imported only when used, so the plain CLI never pays for
them, and GitHub's (the only one needing actions-toolkit) is just one of them.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType

from ..errors import ConfigError
from ..keys import LoadedKey
from ..signing import Token

# Detection order matters only where one CI sets another's variables; the
# generic fallback ("none": stdout) comes last.
ADAPTERS = ("github", "gitlab", "bitrise", "azure", "buildkite", "circleci", "codemagic",
            "teamcity", "jenkins")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


@dataclass(frozen=True)
class ExportJob:
    """What an adapter is asked to do: make ``token`` available as ``name``."""

    name: str
    token: Token
    env: Mapping[str, str]
    key: LoadedKey | None = None  # for masking the key where the CI can mask
    dotenv: str | None = None  # GitLab: a dotenv report file to append to
    extra: dict[str, str] = field(default_factory=dict)  # more variables (e.g. expiry), non-secret


def validate_variable_name(name: str) -> str:
    """Refuse names that are not plain shell variable names.

    Every CI protocol xctoken writes (heredoc records, ``KEY=value`` lines,
    logging commands) can be subverted by a name holding ``=``, ``<<``, ``;``,
    ``]`` or a line break; a plain identifier cannot.
    """
    if not _VARIABLE_NAME.fullmatch(name):
        raise ConfigError("the variable name must be letters, digits and underscores, not starting "
                          "with a digit (like APP_STORE_CONNECT_TOKEN)")
    return name


def load_adapter(name: str) -> ModuleType:
    key = name.strip().lower()
    if key not in ADAPTERS and key != "none":
        raise ConfigError(f"unknown CI '{name[:40]}'; use one of: {', '.join(ADAPTERS)}, none")
    return importlib.import_module(f".{'generic' if key == 'none' else key}", __name__)


def detect_ci(env: Mapping[str, str]) -> str:
    """The name of the CI system this process runs on, or "none"."""
    for name in ADAPTERS:
        if load_adapter(name).detect(env):
            return name
    return "none"


def export_token(token: Token, name: str, ci: str | None, dotenv: str | None,
                 env: Mapping[str, str], key: LoadedKey | None = None) -> list[str]:
    """Export ``token`` as variable ``name`` through the chosen (or detected) CI's adapter."""
    adapter = load_adapter(ci or detect_ci(env))
    job = ExportJob(validate_variable_name(name), token, env, key, dotenv)
    return list(adapter.export(job))

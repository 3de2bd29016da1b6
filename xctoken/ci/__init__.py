"""Hand a token to later CI steps, one small adapter per CI system.

Each adapter is a module here with ``TITLE``, ``detect(env) -> bool`` and
``export(job) -> list[str]`` (the returned lines are non-secret notes for
stderr). Adapters are imported only when used, so the plain CLI never pays for
them, and GitHub's (the only one needing actions-toolkit) is just one of them.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess  # nosec B404
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType

from ..errors import ConfigError, OutputError
from ..files import append_records, check_output_path
from ..keys import LoadedKey
from ..signing import Token

# Detection order matters only where one CI sets another's variables; the
# generic fallback ("none": stdout) comes last.
ADAPTERS = ("github", "gitlab", "bitrise", "azure", "buildkite", "circleci", "codemagic",
            "teamcity", "jenkins")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_SHOWABLE_CI_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,14}")


@dataclass(frozen=True)
class ExportJob:
    """What an adapter is asked to do: make ``token`` available as ``name``."""

    # repr=False: a debugger, an error reporter or a log of locals must not show the token, the
    # key or the environment (which may hold the key as ASC_PRIVATE_KEY).
    name: str
    token: Token = field(repr=False)
    env: Mapping[str, str] = field(repr=False)
    key: LoadedKey | None = field(default=None, repr=False)  # for masking the key where the CI can mask
    dotenv: str | None = None  # GitLab: a dotenv report file to append to
    extra: dict[str, str] = field(default_factory=dict)  # more variables (e.g. expiry), non-secret
    output: str | None = None  # Jenkins / none: write the token to this file (0600) instead of stdout

    def variables(self) -> list[tuple[str, str, bool]]:
        """(name, value, secret) for the token and each extra variable, names validated."""
        return [(self.name, self.token.value, True)] + [
            (validate_variable_name(name), value, False) for name, value in self.extra.items()
        ]


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
        # Echo only what could be a CI name: --ci "$ASC_PRIVATE_KEY" must not print the key.
        shown = f"'{name}'" if _SHOWABLE_CI_NAME.fullmatch(name) else "(value not shown)"
        raise ConfigError(f"unknown CI {shown}; use one of: {', '.join(ADAPTERS)}, none")
    return importlib.import_module(f".{'generic' if key == 'none' else key}", __name__)


def detect_ci(env: Mapping[str, str]) -> str:
    """The name of the CI system this process runs on, or "none"."""
    for name in ADAPTERS:
        if load_adapter(name).detect(env):
            return name
    return "none"


# Adapters that deliver by stdout or a file (--output), and the one that takes --dotenv.
_OUTPUT_ADAPTERS = ("none", "jenkins")


def export_token(token: Token, name: str, ci: str | None, dotenv: str | None,
                 env: Mapping[str, str], key: LoadedKey | None = None,
                 output: str | None = None) -> list[str]:
    """Export ``token`` as variable ``name`` through the chosen (or detected) CI's adapter.

    ``--dotenv`` asks for GitLab's dotenv report, so it picks the GitLab adapter
    when no CI is named (a dotenv file is useful wherever it is written).
    """
    chosen = (ci or ("gitlab" if dotenv else detect_ci(env))).strip().lower()
    adapter = load_adapter(chosen)
    if dotenv and chosen != "gitlab":
        raise ConfigError(f"--dotenv writes a GitLab dotenv report; drop it, or drop --ci {chosen}")
    if output and chosen not in _OUTPUT_ADAPTERS:
        raise ConfigError(f"--output goes with --ci none or jenkins; on {adapter.TITLE} --export hands "
                          "the token over by itself")
    job = ExportJob(validate_variable_name(name), token, env, key, dotenv, output=output)
    return list(adapter.export(job))


# Helpers the adapters share: refusing values a protocol cannot carry, writing a
# protocol record in one piece, and running a CI's helper program safely.

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_value(name: str, value: str, ci_title: str, forbidden: str = "") -> str:
    """Refuse a value holding a control character (a line break ends every record) or any of ``forbidden``.

    The message names the variable and the problem, never the value.
    """
    if not value:
        raise OutputError(f"the value for {name} is empty; nothing was written")
    if _CONTROL.search(value):
        raise OutputError(f"the value for {name} holds a line break or control character, which "
                          f"{ci_title} cannot carry safely; nothing was written")
    bad = sorted({char for char in value if char in forbidden})
    if bad:
        raise OutputError(f"the value for {name} holds {' '.join(repr(c) for c in bad)}, which "
                          f"{ci_title} cannot carry safely; nothing was written")
    return value


# Names every later step relies on: a token in one of these breaks or hijacks them.
# Each one changes what a later step runs or how: the shell's own, the loaders',
# the interpreters' start-up hooks (Python, Node, the JVM, Ruby, Perl), git's
# transport commands, and the proxy variables every HTTP client obeys.
_NAMES_STEPS_RELY_ON = frozenset({
    "PATH", "HOME", "SHELL", "IFS", "ENV", "BASH_ENV", "CI", "PWD", "USER", "TMPDIR", "CDPATH", "PS4",
    "PROMPT_COMMAND", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "NODE_OPTIONS",
    "NODE_PATH", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "RUBYOPT", "RUBYLIB", "PERL5OPT",
    "PERL5LIB", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_ASKPASS", "GIT_EXEC_PATH", "GIT_CONFIG_GLOBAL",
    "SSH_ASKPASS", "EDITOR", "VISUAL", "PAGER"})
# GITHUB_*: GITHUB_TOKEN, GITHUB_PATH... are read by tools (gh, git helpers) on every CI;
# INPUT_*: an action's inputs (a later action would read the token as one of its own).
_PREFIXES_STEPS_RELY_ON = ("LD_", "DYLD_", "GITHUB_", "INPUT_", "GIT_CONFIG_")
# HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY (and lower case, which upper() folds)
_SUFFIXES_STEPS_RELY_ON = ("_PROXY",)


def check_name(name: str, ci_title: str, reserved_prefixes: Sequence[str] = ()) -> str:
    """Refuse a name a CI reserves (``reserved_prefixes``) or every later step relies on."""
    upper = validate_variable_name(name).upper()
    if (upper in _NAMES_STEPS_RELY_ON or upper.startswith(_PREFIXES_STEPS_RELY_ON)
            or upper.endswith(_SUFFIXES_STEPS_RELY_ON)):
        raise ConfigError(f"{name} is a variable every later step relies on; export the token under "
                          "its own name, like APP_STORE_CONNECT_TOKEN")
    taken = [prefix for prefix in reserved_prefixes if upper.startswith(prefix)]
    if taken:
        raise ConfigError(f"{ci_title} reserves variables starting with {taken[0]}; export the token "
                          "under its own name, like APP_STORE_CONNECT_TOKEN")
    return name


def append_to_env_file(job: ExportJob, variable: str, text: str, later: str) -> str:
    """Append ``text`` to the file the CI names in ``$variable`` (created 0600); its path.

    CircleCI's $BASH_ENV and Codemagic's $CM_ENV work this way: the CI reads the
    file before each later step. ``later`` says who reads it ("CircleCI steps").
    """
    path = job.env.get(variable, "")
    if not path.strip():
        raise OutputError(f"{variable} is not set, so later {later} cannot be given the token "
                          "(run this inside that CI, or use --ci none); nothing was written")
    origin = f"${variable}"
    check_output_path(path, origin)
    # The user's CI names this file, not a runner of ours: it must be ours alone (files._check_private).
    append_records([(path, text)], create=True, private=True, origins={path: origin})
    return path


def write_stdout_record(text: str) -> None:
    """Write ``text`` to stdout as one ``write()``, so a CI reading our output never sees half a record."""
    data = text.encode("utf-8")
    if sys.stdout is None:  # closed by the caller (>&-)
        raise OutputError("standard output is closed, so the CI cannot read the record; nothing was written")
    try:
        sys.stdout.flush()
        written = os.write(sys.stdout.fileno(), data)
    except BrokenPipeError:
        raise OutputError("standard output was closed before the record was written") from None
    except OSError as error:
        raise OutputError(f"cannot write to standard output: {error.strerror}") from None
    if written != len(data):
        raise OutputError("standard output took only part of the record (pipe full?)")


def run_helper(program: str, args: Sequence[str], stdin_text: str, env: Mapping[str, str],
               purpose: str) -> None:
    """Run a CI's own helper program with the secret on stdin (never in argv, which ``ps`` shows).

    Its output is swallowed: some helpers echo what they were given.
    """
    found = shutil.which(program, path=env.get("PATH", os.defpath))
    if found is None:
        raise OutputError(f"{program} is not on PATH, so the token cannot be {purpose}; nothing was written")
    try:
        # A fixed helper found on PATH, argv as a list, no shell: bandit B603 does not apply.
        result = subprocess.run([found, *args], input=stdin_text.encode("utf-8"), env=dict(env),  # nosec B603
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120,
                                check=False)
    except (OSError, subprocess.SubprocessError) as error:
        raise OutputError(f"cannot run {program} {args[0] if args else ''}: "
                          f"{getattr(error, 'strerror', None) or type(error).__name__}") from None
    if result.returncode != 0:
        raise OutputError(f"{program} {' '.join(args[:2])} failed with exit code {result.returncode}, "
                          f"so the token was not {purpose} (its output is not shown: it could hold "
                          "the token)")

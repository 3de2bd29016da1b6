"""Set up the portable action: a private venv with xctoken's pinned dependencies.

Standard library only: it runs on the runner's own Python (macOS, Linux, Windows).
Prints the venv's interpreter on standard output (the action runs the entry point
with it); everything it says, pip's output included, goes to standard error.

The venv goes under RUNNER_TEMP (emptied by the runner after every job), named
after the lock file's hash and the Python version, so a second use of the action
in the same job reuses it as it is. Dependencies come from requirements/runtime.txt
of this action's own checkout: pinned, hash-checked (--require-hashes), wheels only
(--only-binary :all:), nothing else.

Made fast: the venv is created without pip (``venv --without-pip``: about 0.05 s)
and the runner's own pip fills it (``pip --python VENV``, pip 22.3 or later)
instead of the 2 to 4 s ``ensurepip`` spends copying a pip into every new
venv. Only when the runner's Python has no such pip (or that pip fails) is the venv
made with ``ensurepip`` and its own pip used, and the log says so. Byte-compiling is
left to the first import (``--no-compile``): a token imports a tenth of the files pip
would compile.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ACTION_ROOT = Path(__file__).resolve().parent.parent
LOCK = ACTION_ROOT / "requirements" / "runtime.txt"
PIP_WITH_PYTHON_OPTION = (22, 3)  # `pip --python` appeared in pip 22.3


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fail(message: str) -> int:
    say(f"::error title=xctoken::{message}")
    return 1


def venv_python(directory: Path) -> Path:
    if os.name == "nt":
        return directory / "Scripts" / "python.exe"
    return directory / "bin" / "python"


def pip_install(pip: list[str]) -> list[str]:
    """The one install command, whichever pip runs it: the pinned lock, hash-checked, wheels only."""
    return [*pip, "install", "--require-hashes", "--only-binary=:all:", "--no-deps", "--no-compile", "--quiet",
            "--disable-pip-version-check", "--no-input", "-r", str(LOCK)]


def runner_pip_version() -> tuple[int, ...] | None:
    """The version of the pip this Python has (its own, not a venv's), or None without one."""
    import importlib.util

    if importlib.util.find_spec("pip") is None:
        return None
    from importlib import metadata

    try:
        version = metadata.version("pip")
    except metadata.PackageNotFoundError:
        return None
    parts = []
    for part in version.split(".")[:2]:
        digits = "".join(c for c in part if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def quiet_env() -> dict[str, str]:
    # pip needs none of the step's inputs: the private key stays out of its environment.
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("INPUT_")}


def run_pip(argv: list[str]) -> int:
    return subprocess.run(argv, stdout=sys.stderr, env=quiet_env(), check=False).returncode


def create(directory: Path, with_pip: bool) -> None:
    import venv

    venv.EnvBuilder(with_pip=with_pip, clear=True).create(directory)


def install(directory: Path, python: Path) -> tuple[int, str]:
    """Make the venv and install the lock into it; (pip's exit code, how it was done)."""
    version = runner_pip_version()
    if version is not None and version >= PIP_WITH_PYTHON_OPTION:
        started = time.monotonic()
        create(directory, with_pip=False)
        made = time.monotonic()
        code = run_pip(pip_install([sys.executable, "-m", "pip", "--python", str(python)]))
        if code == 0:
            return 0, (f"venv {made - started:.2f} s (without pip), runner's pip {'.'.join(map(str, version))} "
                       f"installing into it {time.monotonic() - made:.2f} s")
        say(f"xctoken: the runner's pip could not install into the venv (exit {code}); "
            "trying again with a pip of the venv's own (ensurepip, a few seconds more)")
    elif version is None:
        say("xctoken: this Python has no pip of its own, so the venv gets one from ensurepip "
            "(a few seconds more than with the runner's pip)")
    else:
        say(f"xctoken: this Python's pip {'.'.join(map(str, version))} is older than 22.3 (no --python), so the "
            "venv gets one from ensurepip (a few seconds more)")
    started = time.monotonic()
    create(directory, with_pip=True)
    made = time.monotonic()
    code = run_pip(pip_install([str(python), "-m", "pip"]))
    return code, (f"venv with ensurepip {made - started:.2f} s, "
                  f"its own pip filling it {time.monotonic() - made:.2f} s")


def main() -> int:
    runner_temp = os.environ.get("RUNNER_TEMP", "")
    if not runner_temp:
        return fail("RUNNER_TEMP must be set: run this as a GitHub Actions step")
    lock = LOCK.read_bytes()
    tag = hashlib.sha256(lock + sys.version.encode()).hexdigest()[:16]
    directory = Path(runner_temp) / f"xctoken-venv-{tag}"
    python = venv_python(directory)
    ready = directory / ".xctoken-ready"
    if ready.is_file():
        say(f"xctoken: reusing {directory}")
    else:
        say(f"xctoken: installing the pinned dependencies into {directory}")
        code, how = install(directory, python)
        if code != 0:
            return fail(f"pip could not install requirements/runtime.txt (exit {code}); see the lines above")
        ready.write_text(tag)
        say(f"xctoken: dependencies ready: {how}")
    # Bytes: on Windows a text stdout would end the line with "\r\n", and bash's $(...) keeps the "\r".
    sys.stdout.buffer.write(os.fsencode(python.as_posix()) + b"\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Set up the portable action: a private venv with xctoken's pinned dependencies.

Standard library only: it runs on the runner's own Python (macOS, Linux, Windows).
The venv goes under RUNNER_TEMP (emptied by the runner after every job), named
after the lock file's hash and the Python version, so a second use of the action
in the same job reuses it. Dependencies come from requirements/runtime.txt of
this action's own checkout with --require-hashes: nothing unpinned is installed.
Writes ``python=<venv interpreter>`` to GITHUB_OUTPUT for the next step.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ACTION_ROOT = Path(__file__).resolve().parent.parent
LOCK = ACTION_ROOT / "requirements" / "runtime.txt"


def fail(message: str) -> int:
    print(f"::error title=xctoken::{message}", flush=True)
    return 1


def venv_python(directory: Path) -> Path:
    if os.name == "nt":
        return directory / "Scripts" / "python.exe"
    return directory / "bin" / "python"


def main() -> int:
    runner_temp = os.environ.get("RUNNER_TEMP", "")
    output = os.environ.get("GITHUB_OUTPUT", "")
    if not runner_temp or not output:
        return fail("RUNNER_TEMP and GITHUB_OUTPUT must be set: run this as a GitHub Actions step")
    lock = LOCK.read_bytes()
    tag = hashlib.sha256(lock + sys.version.encode()).hexdigest()[:16]
    directory = Path(runner_temp) / f"xctoken-venv-{tag}"
    python = venv_python(directory)
    ready = directory / ".xctoken-ready"
    if not ready.is_file():
        print(f"xctoken: installing the pinned dependencies into {directory}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(directory)
        result = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input",
             "--require-hashes", "--no-deps", "--only-binary=:all:", "-r", str(LOCK)],
            check=False)
        if result.returncode != 0:
            return fail(f"pip could not install requirements/runtime.txt (exit {result.returncode}); "
                        "see the lines above")
        ready.write_text(tag)
    else:
        print(f"xctoken: reusing {directory}", flush=True)
    with open(output, "a", encoding="utf-8") as handle:
        handle.write(f"python={python.as_posix()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

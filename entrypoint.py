#!/usr/bin/env python3
"""The Docker image's entry point, for GitHub and for every other CI.

- no arguments: run the GitHub Action (inputs from INPUT_* variables);
- ``xctoken ...`` or a CLI subcommand (``generate``, ``decode``, ``check``):
  run the xctoken CLI in this process;
- any other first argument that is an executable (``sh``, ``bash``, ``cat``):
  exec it, so GitLab job scripts and Jenkins' ``docker run ... cat`` work.

It must not depend on the caller's environment: a workflow can set PATH and
HOME to nonsense, and the job's variables override the image's ENV. So the
package is found next to this file, and executables are looked up on the real
PATH first, then on a fixed system PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CLI_COMMANDS = {"generate", "decode", "check", "services", "doctor", "--help", "-h", "--version"}


def _use_own_package() -> None:
    # The package sits next to this file, in the image and in a checkout (the portable
    # action, tests). -I keeps this file's directory off sys.path, so put it first: the
    # code next to this file wins over any other installed copy.
    if os.path.isdir(os.path.join(HERE, "xctoken")):
        sys.path.insert(0, HERE)


def find_executable(name: str) -> str | None:
    if os.sep in name:
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    return shutil.which(name, path=os.environ.get("PATH") or None) or shutil.which(name, path=SYSTEM_PATH)


# What an argument may look like to be quoted back: a program name or path, without a
# run of 16 characters that could be part of a key or token pasted as the command
# (`docker run image "$ASC_PRIVATE_KEY"`), and on one line.
_PROGRAM_LIKE = re.compile(r"[A-Za-z0-9._/+-]{1,80}")
_SECRET_RUN = re.compile(r"[A-Za-z0-9+=_-]{16,}")


def _shown(argument: str) -> str:
    if _PROGRAM_LIKE.fullmatch(argument) and not _SECRET_RUN.search(argument):
        return f"'{argument}'"
    return "the first argument (not shown: it could be a secret)"


def main(argv: list[str]) -> int:
    _use_own_package()
    if not argv:
        from xctoken.action import main as action_main

        return action_main()
    first = argv[0]
    if first == "xctoken" or first in CLI_COMMANDS:
        from xctoken.cli import main as cli_main

        return cli_main(argv[1:] if first == "xctoken" else argv)
    program = find_executable(first)
    if program is None:
        sys.stderr.write(f"xctoken-image: error: {_shown(first)} is neither an xctoken command "
                         "(generate, decode, check, doctor, services) nor an executable in the image\n")
        return 2
    os.execv(program, [first, *argv[1:]])  # noqa: S606 - the documented pass-through
    return 127  # not reached: execv replaces this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

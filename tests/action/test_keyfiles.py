"""Key files and launchers handed to the runner's user: never by path, so a swapped-in symlink cannot redirect root.

The container action runs as root in RUNNER_TEMP, a directory the runner's
user owns and can rename entries in at any moment. Ownership and modes are set
on descriptors opened with O_NOFOLLOW: a symlink where a file or directory of
ours should be is refused, and its target keeps its owner and mode.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from xctoken.errors import OutputError
from xctoken.keyfiles import hand_over, make_private_dir

RUNNER_USER = (1001, 1001)
as_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another user needs root")


@as_root
def test_a_symlinked_directory_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "etc"
    target.mkdir(mode=0o755)
    (tmp_path / "xctoken").symlink_to(target)
    with pytest.raises(OutputError, match="symbolic link"):
        make_private_dir(tmp_path / "xctoken", RUNNER_USER)
    info = target.stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (0, 0o755)


@as_root
def test_a_file_swapped_for_a_symlink_is_not_handed_over(tmp_path: Path) -> None:
    victim = tmp_path / "shadow"
    victim.write_text("root's\n")
    victim.chmod(0o640)
    key_file = tmp_path / "AuthKey_2X9R4HXF34.p8"
    key_file.symlink_to(victim)  # the runner's user swapped it in after our rename
    with pytest.raises(OutputError):
        hand_over(key_file, RUNNER_USER)
    info = victim.stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (0, 0o640)


@as_root
def test_our_own_files_and_directories_are_handed_over(tmp_path: Path) -> None:
    directory = tmp_path / "xctoken"
    make_private_dir(directory, RUNNER_USER)
    key_file = directory / "key"
    key_file.write_text("k")
    key_file.chmod(0o600)
    hand_over(key_file, RUNNER_USER)
    launcher = directory / "xctoken"
    launcher.write_text("#!/bin/sh\n")
    hand_over(launcher, RUNNER_USER, 0o700)
    for path, mode in ((directory, 0o700), (key_file, 0o600), (launcher, 0o700)):
        info = path.lstat()
        assert ((info.st_uid, info.st_gid), stat.S_IMODE(info.st_mode)) == (RUNNER_USER, mode), path


def test_an_existing_directory_is_made_private(tmp_path: Path) -> None:
    directory = tmp_path / "xctoken"
    directory.mkdir(mode=0o755)
    make_private_dir(directory, None)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700

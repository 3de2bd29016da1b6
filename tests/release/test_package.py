"""The package as published: the build backend's floor, and scripts/release.py's pure parts.

The end-to-end release (registry, index, act) is tests/release/test_rehearsal.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import venv
from importlib import metadata
from pathlib import Path

import pytest
from conftest import ROOT, load_release_script

PYPROJECT = (ROOT / "pyproject.toml").read_text()


release = load_release_script()


def floor() -> str:
    match = re.search(r'^requires = \["setuptools>=(\d+\.\d+\.\d+)"\]$', PYPROJECT, re.M)
    assert match, "the build requirement must be one setuptools floor"
    return match.group(1)


@pytest.mark.parametrize("setuptools, builds", [(floor(), True), ("76.1.0", False)])
def test_the_lowest_allowed_setuptools_builds_and_the_one_below_cannot(setuptools: str, builds: bool,
                                                                       tmp_path: Path) -> None:
    """The floor is true (it builds) and needed (76 does not read the license expression)."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    install = subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              "--only-binary", ":all:", f"setuptools=={setuptools}", "wheel"],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-2000:]
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv*", ".ci", "node_modules", "*.egg-info",
                                                                "build", "dist", "__pycache__"))
    result = subprocess.run([python, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                             "--wheel-dir", str(tmp_path / "out"), str(source)],
                            capture_output=True, text=True, timeout=300)
    made = sorted(p.name for p in (tmp_path / "out").glob("*.whl")) if (tmp_path / "out").exists() else []
    if builds:
        assert result.returncode == 0, result.stderr[-3000:]
        assert len(made) == 1 and made[0].startswith("xctoken-")
    else:
        assert result.returncode != 0 and not made, f"setuptools {setuptools} built it: the floor could be lower"


def test_the_installed_metadata_is_complete() -> None:
    """What the package index shows, read from the installed distribution's own metadata."""
    info = metadata.metadata("xctoken")
    assert info["License-Expression"] == "MIT" and (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert info["Author"] or info["Author-email"]
    assert info["Keywords"]
    urls = dict(entry.split(", ", 1) for entry in info.get_all("Project-URL") or [])
    assert {"Homepage", "Source", "Issues", "Documentation"} <= set(urls)
    for url in urls.values():
        assert url.startswith("https://github.com/xctoken/xctoken-action"), url
    classifiers = info.get_all("Classifier") or []
    assert "Typing :: Typed" in classifiers
    lowest = info["Requires-Python"].removeprefix(">=")
    assert f"Programming Language :: Python :: {lowest}" in classifiers
    assert (ROOT / "xctoken" / "py.typed").is_file()


def test_relative_links_become_absolute_at_the_tag() -> None:
    text = ("[guide](docs/ci-guide.md), [sec](./SECURITY.md#reporting), [apple](https://developer.apple.com/x), "
            "[top](#why)")
    assert release.absolute_links(text, "xctoken/xctoken-action", "v1.2.3") == (
        "[guide](https://github.com/xctoken/xctoken-action/blob/v1.2.3/docs/ci-guide.md), "
        "[sec](https://github.com/xctoken/xctoken-action/blob/v1.2.3/SECURITY.md#reporting), "
        "[apple](https://developer.apple.com/x), [top](#why)")


def test_pinning_replaces_the_build_with_the_digest_and_nothing_else() -> None:
    action = (ROOT / "action.yml").read_text()
    digest = "sha256:" + "ab" * 32
    pinned = release.pinned_action(action, "ghcr.io/xctoken/xctoken-action", digest)
    assert pinned.count(f"  image: docker://ghcr.io/xctoken/xctoken-action@{digest}\n") == 1
    assert pinned.replace(f"docker://ghcr.io/xctoken/xctoken-action@{digest}", "Dockerfile") == action
    with pytest.raises(release.ReleaseError, match="no `image: Dockerfile` line"):
        release.pinned_action(pinned, "ghcr.io/xctoken/xctoken-action", digest)


@pytest.mark.parametrize("digest", ["sha256:abc", "latest", "sha256:" + "AB" * 32, "sha512:" + "ab" * 64])
def test_pin_refuses_anything_but_a_sha256_digest(digest: str, tmp_path: Path) -> None:
    with pytest.raises(release.ReleaseError, match="must be sha256"):
        release.pin("1.2.3", "ghcr.io/xctoken/xctoken-action", digest, tmp_path)


def test_bump_rewrites_every_pin_and_check_then_agrees(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    for name in ("xctoken/__init__.py", "action.yml", "README.md"):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tree / name)
    (tree / "examples").mkdir()
    (tree / "examples" / "ci.yml").write_text("image: ghcr.io/xctoken/xctoken-action:0.9.1\n"
                                              "run: pip install xctoken==0.9.1 'xctoken[github]==0.9.1'\n"
                                              "uses: xctoken/xctoken-action/portable@v0\n"
                                              "uses: xctoken/xctoken-action@v0.9.1\n")
    assert release.stale_pins("7.8.9", tree)
    with pytest.raises(release.ReleaseError, match="xctoken/__init__.py says"):
        release.check("7.8.9", tree)
    release.bump("7.8.9", tree)
    assert (tree / "examples" / "ci.yml").read_text() == ("image: ghcr.io/xctoken/xctoken-action:7.8.9\n"
                                                          "run: pip install xctoken==7.8.9 'xctoken[github]==7.8.9'\n"
                                                          "uses: xctoken/xctoken-action/portable@v7\n"
                                                          "uses: xctoken/xctoken-action@v7.8.9\n")
    assert release.stale_pins("7.8.9", tree) == []
    release.check("7.8.9", tree)


def test_check_refuses_a_tree_already_pinned_to_an_image(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "xctoken").mkdir(parents=True)
    shutil.copy(ROOT / "xctoken" / "__init__.py", tree / "xctoken" / "__init__.py")
    pinned = release.pinned_action((ROOT / "action.yml").read_text(), "ghcr.io/a/b", "sha256:" + "0" * 64)
    (tree / "action.yml").write_text(pinned)
    with pytest.raises(release.ReleaseError, match="must build from the Dockerfile"):
        release.check(release.package_version(), tree)


def test_release_py_fails_with_one_line_and_status_1(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "release.py"), "check", "--version", "1.2"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "must look like 1.2.3" in result.stderr


def test_the_release_notes_name_every_file_with_its_hash_and_the_pins(tmp_path: Path) -> None:
    import hashlib

    files = {"xctoken-1.2.3-py3-none-any.whl": b"wheel", "xctoken-1.2.3.tar.gz": b"sdist",
             "xctoken-action-1.2.3-arm64.spdx.json": b"{}"}
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    digest = "sha256:" + "cd" * 32
    text = release.notes("1.2.3", "ghcr.io/xctoken/xctoken-action", digest, tmp_path, "xctoken/xctoken-action")
    for name, content in files.items():
        assert f"`{name}`: sha256 `{hashlib.sha256(content).hexdigest()}`" in text
    assert "pip install xctoken==1.2.3" in text and "uses: xctoken/xctoken-action@v1.2.3" in text
    assert f"ghcr.io/xctoken/xctoken-action@{digest}" in text
    assert f"gh attestation verify oci://ghcr.io/xctoken/xctoken-action@{digest}" in text

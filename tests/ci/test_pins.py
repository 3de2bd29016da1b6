"""Every version a user copies from the examples and the CI plugins is the release's own.

examples/, templates/ (GitLab components), orb/ (CircleCI), buildkite-plugin/ and the
Bitrise step (step.yml, bitrise/) pin xctoken as ``xctoken==X.Y.Z``, the image as
``ghcr.io/xctoken/xctoken-action:X.Y.Z`` and the action as ``xctoken-action@vX``, and so on:
the patterns are scripts/release.py's PINS, the same ones ``release.py bump`` rewrites them
with, so what this test holds to ``xctoken.__version__`` the release moves in one go. A copy
that no pattern can see (a bare ``xctoken-action:1``, a ``git+https://`` install, an unpinned
``pip install xctoken``, an OWNER placeholder) would stay behind at every release: refused too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT, load_release_script

import xctoken

SCOPE = ["examples", "templates", "orb", "buildkite-plugin", "step.yml", "bitrise"]
# Forms no PINS pattern moves at a release: each must not appear at all.
UNPINNED = {
    "an image tag that is not a release (X.Y.Z), such as :1 or :latest":
        re.compile(r"xctoken-action:(?!\d+\.\d+\.\d+(?![\w.-]))[\w.-]+"),
    "an install from git (unpinned, and not the published package)": re.compile(r"git\+https?://\S*xctoken"),
    "pip install xctoken without ==X.Y.Z":
        re.compile(r"pip3?\s+install\b[^\n`]*?(?<![\w./=-])xctoken(?![\w.=\[-])"),
    "an OWNER or <registry> placeholder (the image is ghcr.io/xctoken/xctoken-action)":
        re.compile(r"\bOWNER\b|<registry>"),
}


RELEASE = load_release_script()


def files_in_scope() -> list[Path]:
    found: list[Path] = []
    for name in SCOPE:
        path = ROOT / name
        found += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [path for path in found if "__pycache__" not in path.parts]


def where(path: Path, text: str, index: int) -> str:
    return f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, index) + 1}"


def test_the_scope_is_covered_by_the_releases_bump() -> None:
    # release.py bump rewrites every file in these trees; one left out would keep its old pins.
    assert set(SCOPE) <= set(RELEASE.PINNED_FILES)


def test_every_pin_names_this_release() -> None:
    # What `release.py check` refuses a release for, over every file it bumps (README and docs too).
    version = xctoken.__version__
    stale = RELEASE.stale_pins(version)
    assert stale == [], (f"pins that are not xctoken {version} (python3 scripts/release.py bump --version "
                         f"{version}):\n" + "\n".join(stale))
    seen = {match.group(1) for path in files_in_scope() for pattern, _ in RELEASE.PINS
            for match in pattern.finditer(path.read_text(errors="replace"))}
    # The three forms users copy most are there at all (a pattern that matched nothing proves nothing).
    assert {"xctoken==", "xctoken-action:", "xctoken-action@v"} <= seen, seen


@pytest.mark.parametrize("problem", sorted(UNPINNED))
def test_no_copy_the_release_could_not_move(problem: str) -> None:
    found = []
    for path in files_in_scope():
        text = path.read_text(errors="replace")
        found += [f"{where(path, text, m.start())}: {m.group(0)}" for m in UNPINNED[problem].finditer(text)]
    assert found == [], f"{problem}:\n" + "\n".join(found)


def test_bump_rewrites_every_pin_it_checks(tmp_path: Path) -> None:
    # The same patterns move the versions: bump a copy of the scope to 9.8.7, and nothing stale is left.
    for path in files_in_scope():
        target = tmp_path / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    (tmp_path / "xctoken").mkdir()
    (tmp_path / "xctoken" / "__init__.py").write_text(f'__version__ = "{xctoken.__version__}"\n')
    assert RELEASE.bump("9.8.7", tmp_path) > 0
    assert RELEASE.stale_pins("9.8.7", tmp_path) == []
    # And no copy of the old version, major or full, survives where users read pins (a major
    # bump must not leave "`@v1`" or "the newest 1.x" behind): only the listed prose may keep it.
    old, old_major = xctoken.__version__, xctoken.__version__.split(".")[0]
    survivors = []
    for path in RELEASE._pinned_files(tmp_path):
        text = path.read_text(errors="replace")
        for match in re.finditer(rf"(?<![\w.]){re.escape(old)}(?![\w.])|(?:@v|:|newest |latest ){old_major}(?![\w.])"
                                 rf"|\b{old_major}\.x\b", text):
            line = text.count("\n", 0, match.start()) + 1
            survivors.append(f"{path.relative_to(tmp_path)}:{line}: {match.group(0)}")
    allowed = {"orb/README.md"}  # `promote ... major  # 1.0.0, then minor / patch`: what promote makes
    assert [s for s in survivors if s.split(":")[0] not in allowed] == [], "\n".join(survivors)
    assert "xctoken==9.8.7" in (tmp_path / "examples" / "azure" / "azure-pipelines.yml").read_text()
    assert "xctoken-action:9.8.7" in (tmp_path / "templates" / "token.yml").read_text()

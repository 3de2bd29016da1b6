"""The front door: a short README that gets a new user going, and docs/ pages that hold together.

- the README is at most 250 lines and shows, within its first 80 lines, a GitHub Actions
  job on Linux (the container action) and one on macOS (the portable action);
- it keeps the two commands CI and new users run (scripts/demo.sh, scripts/test.sh);
- every relative link in the README and docs/*.md names a file that exists, and every
  `#anchor` into a Markdown file names one of its headings;
- every docs/*.md page is linked from the README;
- no placeholder (`OWNER`), no pointer to notes readers do not have, and no
  `export NAME="$(xctoken ...)"`, which hides xctoken's failure behind export's status.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS, ROOT / "SECURITY.md"]
MAX_README_LINES = 250
FIRST_SNIPPET_WITHIN = 80

FENCE = re.compile(r"^(```|~~~)")
YAML_BLOCK = re.compile(r"^```ya?ml\n(.*?)^```$", re.S | re.M)
# [text](target) and ![alt](target); a target has no spaces (none of ours do).
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
INLINE_CODE = re.compile(r"`[^`\n]*`")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # https:, mailto:, ...
HIDDEN_FAILURE = re.compile(r"export\s+[A-Za-z_][A-Za-z0-9_]*=[\"']?\$\(\s*xctoken\b")
FORBIDDEN = {
    "an OWNER placeholder (the repository is xctoken/xctoken-action)": re.compile(r"\bOWNER\b"),
    "a pointer to notes readers do not have": re.compile(r"shared notes|/work/|\bshared/apple", re.I),
    "wording that only makes sense on the machine that wrote it": re.compile(r"\bthis machine\b", re.I),
}


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def prose(text: str) -> str:
    """The text outside fenced code blocks and inline code (blank lines keep line numbers)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            lines.append("")
            continue
        lines.append("" if fenced else INLINE_CODE.sub("", line))
    return "\n".join(lines)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading keeps its text
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in path.read_text().splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if fenced or not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    found.update(re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", path.read_text()))
    return found


def links(path: Path) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(prose(path.read_text()).splitlines(), 1):
        found += [(number, target) for target in LINK.findall(line)]
    return found


def local_links(path: Path) -> list[tuple[int, str]]:
    return [(number, target) for number, target in links(path) if not EXTERNAL.match(target)]


# -- the README ---------------------------------------------------------------------------------

def test_the_readme_is_short() -> None:
    count = len(README.read_text().splitlines())
    assert count <= MAX_README_LINES, f"README.md has {count} lines, over {MAX_README_LINES}: move reference to docs/"


def snippet_jobs(text: str, within: int) -> list[dict[str, object]]:
    """The jobs of the YAML snippets that end within the first `within` lines."""
    jobs = []
    for match in YAML_BLOCK.finditer(text):
        if text[:match.end()].count("\n") > within:
            break
        data = yaml.safe_load(match.group(1))
        if isinstance(data, dict):
            found = data.get("jobs", data)
            jobs += [job for job in found.values() if isinstance(job, dict)] if isinstance(found, dict) else []
    return jobs


def uses(job: dict[str, object]) -> list[str]:
    steps = job.get("steps") or []
    return [str(step["uses"]) for step in steps if isinstance(step, dict) and "uses" in step]


def test_a_linux_job_and_a_macos_job_come_first() -> None:
    jobs = snippet_jobs(README.read_text(), FIRST_SNIPPET_WITHIN)
    linux = [job for job in jobs if str(job.get("runs-on", "")).startswith("ubuntu")
             and any(re.fullmatch(r"xctoken/xctoken-action@v\d+", u) for u in uses(job))]
    macos = [job for job in jobs if str(job.get("runs-on", "")).startswith("macos")
             and any(re.fullmatch(r"xctoken/xctoken-action/portable@v\d+", u) for u in uses(job))]
    assert linux, (f"no Linux job (runs-on: ubuntu-*) using xctoken/xctoken-action@vN in the README's "
                   f"first {FIRST_SNIPPET_WITHIN} lines")
    assert macos, (f"no macOS job (runs-on: macos-*) using xctoken/xctoken-action/portable@vN in the README's "
                   f"first {FIRST_SNIPPET_WITHIN} lines")


def test_the_first_snippets_pass_the_secrets_from_secrets() -> None:
    for job in snippet_jobs(README.read_text(), FIRST_SNIPPET_WITHIN):
        for step in job.get("steps") or []:
            if isinstance(step, dict) and str(step.get("uses", "")).startswith("xctoken/xctoken-action"):
                given = step.get("with") or {}
                assert given.get("private-key", "").startswith("${{ secrets."), step


@pytest.mark.parametrize("command", ["bash scripts/demo.sh", "bash scripts/test.sh", "bash scripts/test.sh --quick"])
def test_the_readme_keeps_the_two_commands(command: str) -> None:
    assert re.search(rf"^{re.escape(command)}(\s|$)", README.read_text(), re.M), command


def test_ci_runs_the_readme_test_command() -> None:
    assert "exec bash scripts/test.sh\n" in (ROOT / ".ci" / "run").read_text()


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {(README.parent / target.split("#", 1)[0]).resolve() for _, target in local_links(README)}
    missing = [rel(page) for page in DOCS if page.resolve() not in linked]
    assert not missing, f"README.md does not link {missing}"


# -- every page -----------------------------------------------------------------------------------

@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_relative_links_name_files_and_headings_that_exist(page: Path) -> None:
    broken = []
    for number, target in local_links(page):
        path_part, _, anchor = target.partition("#")
        target_path = (page.parent / path_part).resolve() if path_part else page
        if not target_path.exists():
            broken.append(f"{rel(page)}:{number}: {target} (no such file)")
        elif anchor and target_path.suffix == ".md" and anchor not in anchors(target_path):
            broken.append(f"{rel(page)}:{number}: {target} (no heading #{anchor} in {rel(target_path)})")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_no_placeholder_and_no_hidden_failure(page: Path) -> None:
    problems = []
    for number, line in enumerate(page.read_text().splitlines(), 1):
        if HIDDEN_FAILURE.search(line):
            problems.append(f"{rel(page)}:{number}: export NAME=\"$(xctoken ...)\" hides xctoken's failure; "
                            "assign on a line of its own, then export")
        problems += [f"{rel(page)}:{number}: {what}" for what, pattern in FORBIDDEN.items() if pattern.search(line)]
    assert not problems, "\n".join(problems)


def test_the_link_checker_sees_links_and_anchors() -> None:
    # The checks above must not pass by finding nothing.
    assert len(local_links(README)) >= 8
    assert slug("Reusing a token: `--cache`") == "reusing-a-token---cache"
    assert slug("First step of a long job: `xctoken doctor`") == "first-step-of-a-long-job-xctoken-doctor"
    assert "reusing-a-token---cache" in anchors(ROOT / "docs" / "on-demand.md")

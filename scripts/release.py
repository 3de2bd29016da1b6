#!/usr/bin/env python3
"""The release steps, one subcommand each: .github/workflows/release.yml calls them on
GitHub, tests/release/test_rehearsal.py calls the same ones against a local registry and
package index. Standard library only; the tools it drives are git, docker (buildx where
present), python -m build and twine.

    release.py check   --version X.Y.Z                  the tree is ready to release as X.Y.Z
    release.py image   --version X.Y.Z --image NAME     build and push by digest (no tag); prints it
    release.py pin     --version X.Y.Z --image NAME --digest sha256:...
                       commit action.yml running NAME@DIGEST; tag vX.Y.Z, move vX (local only)
    release.py dists   --version X.Y.Z --repository OWNER/NAME --out DIR
                       sdist and wheel of the tag, built once, twine check --strict
    release.py tag-image --version X.Y.Z --image NAME --digest sha256:...
                       point NAME:X.Y.Z and NAME:X at the digest, the last step
    release.py notes   --version X.Y.Z --image NAME --digest sha256:... --dists DIR

Nothing here pushes a git ref or uploads a package: the workflow does that with its own
credentials (trusted publishing for the package index), the rehearsal with none.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION = re.compile(r"\d+\.\d+\.\d+")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# An image reference without tag or digest, lower case as registries require.
IMAGE_NAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)+")
SOURCE_IMAGE_LINE = "  image: Dockerfile\n"
# Markdown links and images whose target is a path in this repository, not a URL or an anchor.
RELATIVE_LINK = re.compile(r"(\]\()(?!https?://|mailto:|#)([^)\s]+)(\))")
PLACEHOLDERS = re.compile(r"\bOWNER\b|<owner>|your-org/xctoken")


class ReleaseError(Exception):
    pass


def run(*argv: str, cwd: Path = ROOT, capture: bool = True) -> str:
    """Run a tool; return its stdout, or (capture=False) let it talk on stderr, keeping our stdout for results."""
    if capture:
        result = subprocess.run(argv, cwd=cwd, text=True, capture_output=True)
    else:
        result = subprocess.run(argv, cwd=cwd, text=True, stdout=sys.stderr)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout or "").strip()[-2000:] if capture else ""
        raise ReleaseError(f"{' '.join(argv[:3])} ... failed ({result.returncode}){': ' + detail if detail else ''}")
    return result.stdout if capture else ""


def package_version(tree: Path = ROOT) -> str:
    match = re.search(r'^__version__ = "([^"]+)"$', (tree / "xctoken" / "__init__.py").read_text(), re.M)
    if not match:
        raise ReleaseError("xctoken/__init__.py has no __version__ line")
    return match.group(1)


# -- check ------------------------------------------------------------------------------


def check(version: str, tree: Path = ROOT) -> None:
    if not VERSION.fullmatch(version):
        raise ReleaseError(f"version {version!r} must look like 1.2.3")
    if package_version(tree) != version:
        raise ReleaseError(f"xctoken/__init__.py says {package_version(tree)}, not {version}: bump it first")
    if SOURCE_IMAGE_LINE not in (tree / "action.yml").read_text():
        raise ReleaseError("action.yml must build from the Dockerfile (`image: Dockerfile`) on the branch released")
    stale = stale_pins(version, tree)
    if stale:
        raise ReleaseError(f"{len(stale)} pin(s) name another version, first {stale[0]}: "
                           f"run `python3 scripts/release.py bump --version {version}`")


# The versions users copy: `pip install xctoken==X.Y.Z`, `ghcr.io/.../xctoken-action:X.Y.Z`,
# `uses: xctoken/xctoken-action@vX` or `@vX.Y.Z` (and the /portable forms); the tags the Bitrise step and the
# Buildkite plugin are used at (`xctoken-action.git@vX.Y.Z`, `.../buildkite-plugin#vX.Y.Z`);
# the GitLab components' and the orb's major versions (`.../token@X`, `xctoken/xctoken@X`).
# The release bumps them together; tests/ci/test_pins.py holds the copies in examples/,
# templates/, orb/, buildkite-plugin/ and step.yml to xctoken.__version__.
PINS = [
    (re.compile(r"(xctoken(?:\[[a-z,]+\])?==)(\d+\.\d+\.\d+)"), lambda v: v),
    (re.compile(r"(xctoken-action:)(\d+\.\d+\.\d+)"), lambda v: v),
    (re.compile(r"(xctoken-)(\d+\.\d+\.\d+)(?=-py3|\.tar\.gz)"), lambda v: v),
    (re.compile(r"(xctoken-action:)(\d+)(?![.\d])"), lambda v: v.split(".")[0]),
    # Prose about the pins: "the newest 1.x", "the latest 1.x.y", "# v1.x.y", `@v1`, `@v1.0.0`, `:1`.
    (re.compile(r"((?:newest|latest|each|new) |# v)(\d+)(?=\.x\b)"), lambda v: v.split(".")[0]),
    (re.compile(r"(`@?v?|`:|SHA>  # v|buildkite-plugin#v)(\d+\.\d+\.\d+)(?![.\d])"), lambda v: v),
    (re.compile(r"(`@v|`:)(\d+)(?=`)"), lambda v: v.split(".")[0]),
    (re.compile(r"(xctoken-action(?:/portable)?@v)(\d+\.\d+\.\d+)"), lambda v: v),
    (re.compile(r"(xctoken-action(?:/portable)?@v)(\d+)(?![.\d])"), lambda v: v.split(".")[0]),
    (re.compile(r"(xctoken-action(?:\.git|/buildkite-plugin)[@#]v)(\d+\.\d+\.\d+)"), lambda v: v),
    (re.compile(r"(xctoken-action/(?:token|on-demand)@)(\d+)(?![.\d])"), lambda v: v.split(".")[0]),
    (re.compile(r"(xctoken/xctoken@)(\d+)(?![.\d])"), lambda v: v.split(".")[0]),
]
PINNED_FILES = ["README.md", "SECURITY.md", "docs", "examples", "templates", "orb", "buildkite-plugin", "step.yml",
                "bitrise"]


def _pinned_files(tree: Path) -> list[Path]:
    found: list[Path] = []
    for name in PINNED_FILES:
        path = tree / name
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and "node_modules" not in p.parts)
        elif path.is_file():
            found.append(path)
    return found


def stale_pins(version: str, tree: Path = ROOT) -> list[str]:
    stale = []
    for path in _pinned_files(tree):
        text = path.read_text(errors="replace")
        for pattern, wanted in PINS:
            for match in pattern.finditer(text):
                if match.group(2) != wanted(version):
                    line = text.count("\n", 0, match.start()) + 1
                    stale.append(f"{path.relative_to(tree)}:{line}: {match.group(0)}")
    return stale


def bump(version: str, tree: Path = ROOT) -> int:
    if not VERSION.fullmatch(version):
        raise ReleaseError(f"version {version!r} must look like 1.2.3")
    init = tree / "xctoken" / "__init__.py"
    init.write_text(re.sub(r'^__version__ = "[^"]+"$', f'__version__ = "{version}"', init.read_text(), flags=re.M))
    changed = 0
    for path in _pinned_files(tree):
        text = path.read_text(errors="replace")
        new = text
        for pattern, wanted in PINS:
            new = pattern.sub(lambda m, w=wanted: m.group(1) + w(version), new)  # type: ignore[misc]
        if new != text:
            path.write_text(new)
            changed += 1
    return changed


# -- image ------------------------------------------------------------------------------


def host_platform() -> str:
    machine = platform.machine().lower()
    return "linux/" + {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def has_buildx() -> bool:
    """buildx with a builder that can push several platforms, an SBOM and provenance.

    The default builder of a plain Docker install uses the `docker` driver, which can do
    none of that (docker/setup-buildx-action makes a docker-container builder).
    """
    result = subprocess.run(["docker", "buildx", "inspect"], capture_output=True, text=True)
    if result.returncode != 0:
        return False
    driver = re.search(r"^Driver:\s*(\S+)", result.stdout, re.M)
    return driver is not None and driver.group(1) != "docker"


def candidate_tag(image: str, version: str) -> str:
    """Where plain docker (no buildx) parks the image until tag-image: it cannot push by digest alone."""
    return f"{image}:candidate-{version}"


def build_and_push(version: str, image: str, platforms: list[str], build_args: list[str], revision: str,
                   source: str) -> tuple[str, str]:
    """Build and push the image by digest only; return (the digest, how it was built).

    No user-facing tag moves here: ``X.Y.Z`` and ``X`` are added by :func:`tag_image` at the
    end of the release, once everything else has passed.
    """
    if not IMAGE_NAME.fullmatch(image):
        raise ReleaseError(f"image {image!r} must be a lower-case name with a registry, without tag or digest")
    labels = [f"org.opencontainers.image.source={source}", f"org.opencontainers.image.revision={revision}",
              f"org.opencontainers.image.version={version}"]
    common = [arg for label in labels for arg in ("--label", label)]
    common += [arg for build_arg in build_args for arg in ("--build-arg", build_arg)]
    if has_buildx():
        with tempfile.TemporaryDirectory() as scratch:
            metadata = Path(scratch) / "metadata.json"
            run("docker", "buildx", "build", "--platform", ",".join(platforms), "--sbom=true",
                "--provenance=mode=max", "--metadata-file", str(metadata), *common,
                "--output", f"type=image,name={image},push-by-digest=true,name-canonical=true,push=true",
                ".", capture=False)
            digest = json.loads(metadata.read_text())["containerimage.digest"]
        # What the registry serves under that digest, read back: the reference action.yml will name.
        run("docker", "buildx", "imagetools", "inspect", f"{image}@{digest}")
        how = f"buildx, {', '.join(platforms)}, SBOM and provenance attached, pushed by digest"
    else:
        if platforms != [host_platform()]:
            raise ReleaseError(f"building {', '.join(platforms)} needs docker buildx with a builder for several "
                               f"platforms (and QEMU); without it only the host platform {host_platform()} "
                               "can be built")
        candidate = candidate_tag(image, version)
        run("docker", "build", *common, "-t", candidate, ".", capture=False)
        digest = _push(candidate, image)
        how = f"docker build (no multi-platform buildx here): {host_platform()} only, no SBOM attestation, " \
              f"parked as {candidate}"
    if not DIGEST.fullmatch(digest):
        raise ReleaseError(f"the build reported {digest!r}, not a sha256 digest")
    return digest, how


def _push(tag: str, image: str) -> str:
    """docker push TAG; the digest the registry now has for it."""
    run("docker", "push", tag, capture=False)
    repo_digests = json.loads(run("docker", "image", "inspect", "--format", "{{json .RepoDigests}}", tag))
    digests = {entry.split("@", 1)[1] for entry in repo_digests if entry.split("@", 1)[0] == image}
    if len(digests) != 1:
        raise ReleaseError(f"could not tell the pushed digest of {tag} (found {sorted(digests)})")
    return digests.pop()


def tag_image(version: str, image: str, digest: str) -> list[str]:
    """Point ``X.Y.Z`` and ``X`` at DIGEST, the last step of a release; the tags, checked."""
    if not DIGEST.fullmatch(digest):
        raise ReleaseError(f"digest {digest!r} must be sha256:<64 hex digits>")
    tags = [f"{image}:{version}", f"{image}:{version.split('.')[0]}"]
    if has_buildx():
        run("docker", "buildx", "imagetools", "create", *(arg for tag in tags for arg in ("-t", tag)),
            f"{image}@{digest}", capture=False)
        pushed = {tag: json.loads(run("docker", "buildx", "imagetools", "inspect", tag, "--format",
                                      "{{json .Manifest}}"))["digest"] for tag in tags}
    else:
        run("docker", "pull", "-q", f"{image}@{digest}")
        pushed = {}
        for tag in tags:
            run("docker", "tag", f"{image}@{digest}", tag)
            pushed[tag] = _push(tag, image)
    wrong = [f"{tag} = {got}" for tag, got in pushed.items() if got != digest]
    if wrong:
        raise ReleaseError(f"the registry serves another manifest than {digest}: {', '.join(wrong)}")
    return tags


# -- pin --------------------------------------------------------------------------------


def pinned_action(text: str, image: str, digest: str) -> str:
    if SOURCE_IMAGE_LINE not in text:
        raise ReleaseError("action.yml has no `image: Dockerfile` line to pin")
    return text.replace(SOURCE_IMAGE_LINE, f"  image: docker://{image}@{digest}\n", 1)


def pin(version: str, image: str, digest: str, tree: Path = ROOT) -> str:
    """Commit the release on top of HEAD: action.yml runs IMAGE@DIGEST. Tag it; return the commit."""
    if not DIGEST.fullmatch(digest):
        raise ReleaseError(f"digest {digest!r} must be sha256:<64 hex digits>")
    action = tree / "action.yml"
    action.write_text(pinned_action(action.read_text(), image, digest))
    git = ["git", "-c", "user.name=github-actions[bot]",
           "-c", "user.email=41898282+github-actions[bot]@users.noreply.github.com"]
    run(*git, "commit", "-q", "-m", f"release v{version}: action.yml runs {image}@{digest}", "action.yml", cwd=tree)
    run(*git, "tag", "-a", f"v{version}", "-m", f"xctoken v{version}", cwd=tree)
    run(*git, "tag", "-f", f"v{version.split('.')[0]}", cwd=tree)
    return run("git", "rev-parse", "HEAD", cwd=tree).strip()


# -- dists ------------------------------------------------------------------------------


def absolute_links(markdown: str, repository: str, ref: str) -> str:
    """Relative links made absolute at REF, for the package index, which shows no repository files."""
    def absolute(match: re.Match[str]) -> str:
        target = match.group(2).removeprefix("./")
        return f"{match.group(1)}https://github.com/{repository}/blob/{ref}/{target}{match.group(3)}"

    return RELATIVE_LINK.sub(absolute, markdown)


def build_dists(version: str, repository: str, out: Path, ref: str = "HEAD", tree: Path = ROOT,
                isolated: bool = True) -> list[Path]:
    """Build the sdist, then the wheel from it, from REF's files (never the work tree's)."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        staging = Path(scratch) / "tree"
        staging.mkdir()
        archive = Path(scratch) / "tree.tar"
        run("git", "archive", "--format=tar", "-o", str(archive), ref, cwd=tree)
        with tarfile.open(archive) as tar:
            tar.extractall(staging, filter="data")
        check_version = package_version(staging)
        if check_version != version:
            raise ReleaseError(f"{ref} has version {check_version}, not {version}")
        readme = staging / "README.md"
        description = absolute_links(readme.read_text(), repository, f"v{version}")
        if PLACEHOLDERS.search(description):
            raise ReleaseError("README.md still has a placeholder (OWNER): the package index would show it")
        readme.write_text(description)
        before = set(out.iterdir())
        run(sys.executable, "-m", "build", *([] if isolated else ["--no-isolation"]), "--outdir", str(out),
            str(staging), capture=False)
        made = sorted(set(out.iterdir()) - before)
    names = sorted(p.name for p in made)
    expected = [f"xctoken-{version}-py3-none-any.whl", f"xctoken-{version}.tar.gz"]
    if names != expected:
        raise ReleaseError(f"build made {names}, expected {expected}")
    run(sys.executable, "-m", "twine", "check", "--strict", *map(str, made))
    return made


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def notes(version: str, image: str, digest: str, dists: Path, repository: str) -> str:
    major = version.split(".")[0]
    files = "\n".join(f"- `{p.name}`: sha256 `{sha256(p)}`" for p in sorted(dists.iterdir()) if p.is_file())
    return f"""## xctoken {version}

- Package: `pip install xctoken=={version}` (or `pipx install xctoken=={version}`)
- Action: `uses: {repository}@v{version}` (or `@v{major}`); its action.yml runs the image by digest
- Image: `{image}:{version}` = `{image}@{digest}` (linux/amd64 and linux/arm64)

Files (the distributions and the image's SBOM):
{files}

Verify the provenance (GitHub CLI):

```bash
gh attestation verify xctoken-{version}-py3-none-any.whl --repo {repository}
gh attestation verify oci://{image}@{digest} --repo {repository}
```
"""


# -- command line -----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="release.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("check", "bump", "image", "pin", "dists", "tag-image", "notes"):
        sub = commands.add_parser(name)
        sub.add_argument("--version", required=True)
        if name in ("image", "pin", "tag-image", "notes"):
            sub.add_argument("--image", required=True, help="registry/owner/name, no tag")
        if name in ("pin", "tag-image", "notes"):
            sub.add_argument("--digest", required=True)
        if name in ("dists", "notes"):
            sub.add_argument("--repository", default=os.environ.get("GITHUB_REPOSITORY", "xctoken/xctoken-action"))
        if name == "image":
            sub.add_argument("--platforms", default="linux/amd64,linux/arm64")
            sub.add_argument("--build-arg", action="append", default=[])
            sub.add_argument("--revision", default="")
            sub.add_argument("--source", default="")
            sub.add_argument("--digest-file", type=Path)
        if name == "dists":
            sub.add_argument("--out", type=Path, default=ROOT / "dist")
            sub.add_argument("--ref", default="HEAD")
            sub.add_argument("--no-isolation", action="store_true",
                             help="build with the installed setuptools (the workflow's hash-pinned one)")
        if name == "notes":
            sub.add_argument("--dists", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            check(args.version)
            print(f"release.py: ready to release {args.version}")
        elif args.command == "bump":
            changed = bump(args.version)
            print(f"release.py: version {args.version}; {changed} file(s) with pins rewritten")
        elif args.command == "image":
            revision = args.revision or run("git", "rev-parse", "HEAD").strip()
            digest, how = build_and_push(args.version, args.image, args.platforms.split(","), args.build_arg,
                                         revision, args.source)
            if args.digest_file:
                args.digest_file.write_text(digest + "\n")
            print(f"release.py: pushed {args.image}@{digest} ({how})", file=sys.stderr)
            print(digest)
        elif args.command == "tag-image":
            for tag in tag_image(args.version, args.image, args.digest):
                print(f"release.py: {tag} = {args.image}@{args.digest}", file=sys.stderr)
        elif args.command == "pin":
            commit = pin(args.version, args.image, args.digest)
            print(f"release.py: release commit {commit} (tags v{args.version}, v{args.version.split('.')[0]})",
                  file=sys.stderr)
            print(commit)
        elif args.command == "dists":
            for path in build_dists(args.version, args.repository, args.out, args.ref, isolated=not args.no_isolation):
                print(f"{sha256(path)}  {path}")
        elif args.command == "notes":
            print(notes(args.version, args.image, args.digest, args.dists, args.repository), end="")
    except ReleaseError as error:
        print(f"release.py {args.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The release rehearsal: scripts/release.py, the code the release workflow runs, against a real
registry and a real package index on loopback, then used the way users use a release.

One release is made per session, from a copy of this checkout committed as `main`:
check, image (pushed), pin (the release commit), dists (built once, uploaded with twine).
Then:
- `pip install xctoken==X.Y.Z` from the local index alone, in a clean venv: --version and a
  token, verified by jwcrypto and openssl;
- a consumer repository whose workflow, run by act, does `uses: xctoken/xctoken-action@<the
  release commit>`: the runner pulls `docker://localhost:PORT/...@sha256:...` (the local copy
  is removed first), mints, and a later step verifies the token with openssl;
- the digest in the released action.yml is the manifest the registry serves (skopeo);
- the sdist's tests run against the installed wheel;
- multi-arch, where docker buildx is present; where it is not, the test says so.

Docker Hub is unreachable here: the image is built with `--build-arg BASE_IMAGE=<the local
stand-in>`; everything else is the Dockerfile users get.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from action.docker_runner import STANDIN_BASE
from action.runner_protocol import verify_with_openssl
from action.test_workflow import ACT, LEAK_PATTERNS, RUNNER_IMAGE, act_lock  # noqa: F401 - act_lock: a fixture
from ci.helpers import verify
from conftest import GIT_AS_TESTS, ISSUER_ID, ROOT, TestKey, clean_env, copy_checkout, load_release_script
from cryptography.hazmat.primitives import serialization

from .rehearsal import package_index, registry

pytestmark = [pytest.mark.docker, pytest.mark.slow]

VERSION = next(line.split('"')[1] for line in (ROOT / "xctoken" / "__init__.py").read_text().splitlines()
               if line.startswith("__version__ = "))
REPOSITORY = "xctoken/xctoken-action"
SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"


@dataclass(frozen=True)
class Release:
    source: Path          # the released repository: its HEAD is the release commit
    commit: str
    image: str            # localhost:PORT/xctoken/xctoken-action
    digest: str
    dists: Path
    index: str            # the package index's base URL
    log: str              # what release.py printed (stderr), to check for leaks and facts


def release_py(source: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, str(source / "scripts" / "release.py"), *args], cwd=source,
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, f"release.py {args[0]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def release(require_docker: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Release]:
    work = tmp_path_factory.mktemp("release")
    source = work / "xctoken-action"
    source.mkdir()
    copy_checkout(source)
    (work / "registry").mkdir()
    (work / "index").mkdir()
    with registry(work / "registry") as host, package_index(work / "index") as index:
        image = f"{host}/{REPOSITORY}"
        release_py(source, "check", "--version", VERSION)
        built = release_py(source, "image", "--version", VERSION, "--image", image,
                           "--platforms", host_platform(source), "--build-arg", f"BASE_IMAGE={STANDIN_BASE}",
                           "--source", f"https://github.com/{REPOSITORY}")
        digest = built.stdout.strip()
        pinned = release_py(source, "pin", "--version", VERSION, "--image", image, "--digest", digest)
        commit = pinned.stdout.strip()
        dists = work / "dist"
        release_py(source, "dists", "--version", VERSION, "--repository", REPOSITORY, "--out", str(dists))
        upload = subprocess.run([sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
                                 "--repository-url", f"{index}/", *map(str, sorted(dists.iterdir()))],
                                env={**os.environ, "TWINE_USERNAME": "rehearsal", "TWINE_PASSWORD": "rehearsal"},
                                capture_output=True, text=True, timeout=300)
        assert upload.returncode == 0, upload.stdout + upload.stderr
        # Until here no tag users pull moved: the image is in the registry by digest (and, built
        # with plain docker, under a candidate tag). The last step points X.Y.Z and X at it.
        untagged = subprocess.run([SKOPEO, "inspect", "--tls-verify=false", f"docker://{image}:{VERSION}"],
                                  capture_output=True, text=True, timeout=120)
        assert untagged.returncode != 0, f"{image}:{VERSION} existed before tag-image"
        tagged = release_py(source, "tag-image", "--version", VERSION, "--image", image, "--digest", digest)
        # The dependencies, from the index pip is configured with, so the install below asks only ours.
        wheels = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary",
                                 ":all:", "--require-hashes", "-r", str(ROOT / "requirements" / "core.txt"), "-d",
                                 str(work / "index" / "packages")], capture_output=True, text=True, timeout=300)
        assert wheels.returncode == 0, wheels.stderr[-2000:]
        log = built.stderr + pinned.stderr + tagged.stderr
        yield Release(source, commit, image, digest, dists, index, log)
        remove_local_image(image, digest)


def remove_local_image(image: str, digest: str) -> None:
    subprocess.run(["docker", "rmi", "--force", f"{image}:{VERSION}", f"{image}:{VERSION.split('.')[0]}",
                    f"{image}:candidate-{VERSION}", f"{image}@{digest}"], capture_output=True)


def host_platform(source: Path) -> str:
    return load_release_script(source).host_platform()  # type: ignore[no-any-return]


def multi_platform_builder() -> bool:
    """What release.py decides on: buildx with a builder that is not the `docker` driver."""
    return load_release_script().has_buildx()  # type: ignore[no-any-return]


def skopeo_inspect(reference: str, *extra: str) -> dict[str, object]:
    result = subprocess.run([SKOPEO, "inspect", "--tls-verify=false", *extra, f"docker://{reference}"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def write_secret_file(path: Path, **values: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        for name, value in values.items():
            handle.write(f"{name}={value}\n")
    return path


# -- the released commit and image --------------------------------------------------------


def test_the_released_action_runs_the_pushed_manifest_by_digest(release: Release) -> None:
    action = (release.source / "action.yml").read_text()
    assert f"  image: docker://{release.image}@{release.digest}\n" in action
    assert "image: Dockerfile" not in action
    # skopeo reads the registry itself: the digest of the manifest it serves under the tag.
    assert skopeo_inspect(f"{release.image}:{VERSION}")["Digest"] == release.digest
    assert skopeo_inspect(f"{release.image}:{VERSION.split('.')[0]}")["Digest"] == release.digest
    config = skopeo_inspect(f"{release.image}@{release.digest}", "--config")
    labels = config["config"]["Labels"]  # type: ignore[index]
    assert labels["org.opencontainers.image.version"] == VERSION
    assert labels["org.opencontainers.image.source"] == f"https://github.com/{REPOSITORY}"
    assert len(labels["org.opencontainers.image.revision"]) == 40


def test_the_release_commit_is_tagged_and_changes_only_action_yml(release: Release) -> None:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=release.source, capture_output=True, text=True,
                              check=True).stdout.strip()

    assert git("rev-parse", f"v{VERSION}^{{commit}}") == release.commit
    assert git("rev-parse", f"v{VERSION.split('.')[0]}^{{commit}}") == release.commit
    assert git("cat-file", "-t", f"v{VERSION}") == "tag"  # annotated
    assert git("diff", "--name-only", f"{release.commit}~1", release.commit) == "action.yml"


# -- the package index ----------------------------------------------------------------------


def test_pip_installs_the_release_from_the_index_and_it_mints(release: Release, tmp_path: Path,
                                                              test_key: TestKey) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # Only the rehearsal's index: no other index, no cache, binaries only.
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-cache-dir", "--isolated",
                              "--index-url", f"{release.index}/simple/", "--only-binary", ":all:",
                              f"xctoken=={VERSION}"], capture_output=True, text=True, timeout=300,
                             env=clean_env())
    assert install.returncode == 0, install.stdout + install.stderr
    xctoken = env_dir / "bin" / "xctoken"
    version = subprocess.run([str(xctoken), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and VERSION in version.stdout, version.stdout + version.stderr
    env = clean_env(ASC_KEY_ID=test_key.key_id, ASC_ISSUER_ID=ISSUER_ID,
                    ASC_PRIVATE_KEY_PATH=str(test_key.write(tmp_path)))
    minted = subprocess.run([str(xctoken), "generate"], capture_output=True, text=True, timeout=60, env=env)
    assert minted.returncode == 0, minted.stderr
    verify(minted.stdout, test_key)
    verify_with_openssl(minted.stdout.strip(), test_key.private_key.public_key(), tmp_path)
    where = subprocess.run([str(python), "-I", "-c", "import xctoken; print(xctoken.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path)
    assert where.stdout.startswith(str(env_dir)), where.stdout


def test_the_package_index_shows_absolute_links_and_complete_metadata(release: Release) -> None:
    wheel = next(release.dists.glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(f"xctoken-{VERSION}.dist-info/METADATA").decode()
    headers, _, description = metadata.partition("\n\n")
    assert "License-Expression: MIT" in headers
    assert "Classifier: Typing :: Typed" in headers and "Requires-Python: >=3.10" in headers
    assert f"Project-URL: Source, https://github.com/{REPOSITORY}" in headers
    links = [line for line in description.splitlines() if "](" in line]
    assert links, "the description has no links at all"
    for target in re.findall(r"\]\(([^)\s]+)\)", description):
        assert target.startswith(("https://", "mailto:", "#")), f"relative link on the package index: {target}"
    assert f"https://github.com/{REPOSITORY}/blob/v{VERSION}/" in description
    assert "OWNER" not in description


def test_the_sdist_runs_its_tests_against_the_installed_wheel(release: Release, tmp_path: Path) -> None:
    sdist = next(release.dists.glob("*.tar.gz"))
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    unpacked = tmp_path / f"xctoken-{VERSION}"
    assert (unpacked / "tests" / "conftest.py").is_file() and (unpacked / "LICENSE").is_file()
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-cache-dir", "--isolated",
                              "--index-url", f"{release.index}/simple/", "--only-binary", ":all:",
                              f"xctoken=={VERSION}"], capture_output=True, text=True, timeout=300, env=clean_env())
    assert install.returncode == 0, install.stderr
    # The test tools come from this checkout's venv, after the clean venv's own site-packages
    # (a path line in a .pth: that directory's own .pth files, the editable install among them, stay inert).
    tools = subprocess.run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "zz-test-tools.pth").write_text(tools + "\n")
    # From outside the sdist, the installed wheel is what the tests import.
    result = subprocess.run([str(python), "-m", "pytest", str(unpacked / "tests" / "core"), "-q", "-p",
                             "no:cacheprovider", "--rootdir", str(unpacked)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=900, env=clean_env(XCTOKEN_SKIP_DOCKER="1"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1]
    # From inside it, the sources' xctoken/ would shadow the wheel: the guard refuses to run.
    shadowed = subprocess.run([str(python), "-m", "pytest", "tests/core/test_claims.py", "-q", "-p",
                               "no:cacheprovider"], cwd=unpacked, capture_output=True, text=True, timeout=300,
                              env=clean_env(XCTOKEN_SKIP_DOCKER="1"))
    assert shadowed.returncode != 0 and "the tests imported xctoken from" in shadowed.stdout + shadowed.stderr


# -- a consumer's workflow, run by act ------------------------------------------------------------


CONSUMER_WORKFLOW = """\
name: consumer
on: push
jobs:
  mint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: token
        uses: {repository}@{commit}
        with:
          issuer-id: {issuer_id}
          key-id: ${{{{ secrets.ASC_KEY_ID }}}}
          private-key: ${{{{ secrets.ASC_PRIVATE_KEY_B64 }}}}
          lifetime: "600"
      - name: Verify the token with openssl
        env:
          TOKEN: ${{{{ steps.token.outputs.token }}}}
          ASC_KEY_ID: ${{{{ secrets.ASC_KEY_ID }}}}
          ASC_ISSUER_ID: {issuer_id}
          ASC_PUBLIC_KEY_B64: {public_key_b64}
        run: bash verify-token.sh TOKEN 600
"""


@pytest.mark.usefixtures("act_lock")
def test_a_consumer_workflow_pulls_the_released_image_by_digest_and_mints(release: Release, tmp_path: Path,
                                                                          test_key: TestKey) -> None:
    consumer = tmp_path / "consumer"
    (consumer / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "e2e" / "verify-token.sh", consumer / "verify-token.sh")
    public_pem = test_key.private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    (consumer / ".github" / "workflows" / "consumer.yml").write_text(CONSUMER_WORKFLOW.format(
        repository=REPOSITORY, commit=release.commit, issuer_id=ISSUER_ID,
        public_key_b64=base64.b64encode(public_pem).decode()))
    for argv in (["git", "init", "-q"], ["git", "add", "-A"], [*GIT_AS_TESTS, "commit", "-qm", "consumer"]):
        subprocess.run(argv, cwd=consumer, check=True, capture_output=True)
    # The runner must pull the image from the registry: no copy may be left in the engine.
    remove_local_image(release.image, release.digest)
    assert subprocess.run(["docker", "image", "inspect", f"{release.image}@{release.digest}"],
                          capture_output=True).returncode != 0
    secrets = write_secret_file(tmp_path / "secrets.env", ASC_KEY_ID=test_key.key_id,
                                ASC_PRIVATE_KEY_B64=base64.b64encode(test_key.pem.encode()).decode())
    result = subprocess.run(
        [str(ACT), "push", "-W", ".github/workflows/consumer.yml", "-P", f"ubuntu-latest={RUNNER_IMAGE}",
         "--pull=false", "--rm", "--secret-file", str(secrets),
         "--local-repository", f"{REPOSITORY}@{release.commit}={release.source}"],
        cwd=consumer, capture_output=True, text=True, timeout=900)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    assert f"docker pull image={release.image}@{release.digest}" in log or f"{release.image}@{release.digest}" in log
    assert "XCTOKEN-E2E TOKEN verified by openssl" in log and "lifetime 600 s" in log
    assert "🏁  Job succeeded" in log
    for what, pattern in LEAK_PATTERNS.items():
        assert pattern.search(log) is None, f"act's log shows a {what} in clear"
    # The engine now has the image: pulled by digest from the registry.
    assert subprocess.run(["docker", "image", "inspect", f"{release.image}@{release.digest}"],
                          capture_output=True).returncode == 0


# -- multi-arch -----------------------------------------------------------------------------------


def test_both_platforms_are_built_into_one_manifest_list(release: Release, tmp_path: Path) -> None:
    # Both platforms need a buildx builder for several platforms (docker-container driver, QEMU,
    # network=host to reach this loopback registry) and a base image for both: the local
    # stand-in is linux/amd64 only, so the base is given from outside.
    base = os.environ.get("XCTOKEN_MULTIARCH_BASE")
    if not multi_platform_builder() or not base:
        pytest.skip("NOT EXERCISED HERE: linux/amd64 + linux/arm64 was not built: that needs a buildx builder for "
                    "several platforms (with QEMU, and network=host to reach this registry) and a multi-platform "
                    "base image in XCTOKEN_MULTIARCH_BASE (the local stand-in base is amd64 only); here "
                    f"builder={'yes' if multi_platform_builder() else 'no'}, base={'set' if base else 'unset'}. "
                    "The release workflow builds both and checks the arm64 variant's architecture; "
                    "test_multi_arch_without_buildx_is_refused checks the refusal here")
    image = release.image.rsplit("/", 1)[0] + "/multiarch"
    built = release_py(release.source, "image", "--version", VERSION, "--image", image,
                       "--platforms", "linux/amd64,linux/arm64", "--build-arg", f"BASE_IMAGE={base}")
    raw = skopeo_inspect(f"{image}@{built.stdout.strip()}", "--raw")
    platforms = {(m["platform"]["os"], m["platform"]["architecture"]) for m in raw["manifests"]}  # type: ignore[index]
    assert {("linux", "amd64"), ("linux", "arm64")} <= platforms


def test_multi_arch_without_buildx_is_refused(release: Release, tmp_path: Path) -> None:
    if multi_platform_builder():
        pytest.skip("a buildx builder for several platforms is here: "
                    "test_both_platforms_are_built_into_one_manifest_list builds both")
    result = subprocess.run([sys.executable, str(release.source / "scripts" / "release.py"), "image", "--version",
                             VERSION, "--image", release.image + "-refused", "--platforms",
                             "linux/amd64,linux/arm64"], cwd=release.source, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert "needs docker buildx" in result.stderr and "only the host platform" in result.stderr


def test_the_release_log_names_how_the_image_was_built_and_no_secret(release: Release) -> None:
    assert f"pushed {release.image}@{release.digest}" in release.log
    assert f"{release.image}:{VERSION} = {release.image}@{release.digest}" in release.log
    for what, pattern in LEAK_PATTERNS.items():
        assert pattern.search(release.log) is None, what


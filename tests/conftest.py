"""Fixtures shared by every test area: throwaway keys and a Docker gate.

Keys are generated at test time; no real (or fake) key is ever committed.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parent.parent
ISSUER_ID = "57246542-96fe-1a63-e053-0824d011072a"
KEY_ID = "2X9R4HXF34"


def check_installed_package() -> None:
    """The tests exercise the installed package, never a copy that happens to sit on sys.path.

    With an editable install that is the checkout; from an sdist (tests/release) it is
    the wheel in site-packages, and a stray ``xctoken/`` beside the tests must not win.
    """
    import json
    import sysconfig
    from importlib import metadata
    from urllib.parse import unquote, urlparse

    import xctoken

    # The install's metadata lives in site-packages; an xctoken.egg-info beside the sources
    # (an unpacked sdist) describes the sources, not an install, so it does not count.
    site_dirs = {Path(sysconfig.get_path(name)).resolve() for name in ("purelib", "platlib")}
    installs = [dist for dist in metadata.distributions(name="xctoken")
                if Path(str(dist.locate_file(""))).resolve() in site_dirs]
    if not installs:
        raise pytest.UsageError(f"xctoken is not installed in {sys.executable}'s environment: "
                                "install it (pip install -e . for a checkout) or use scripts/test.sh")
    dist = installs[0]
    direct_url = json.loads(dist.read_text("direct_url.json") or "{}")
    if direct_url.get("dir_info", {}).get("editable"):
        expected = Path(unquote(urlparse(direct_url["url"]).path)) / "xctoken" / "__init__.py"
    else:
        expected = Path(str(dist.locate_file("xctoken/__init__.py")))
    imported = Path(xctoken.__file__ or "")
    if imported.resolve() != expected.resolve():
        raise pytest.UsageError(f"the tests imported xctoken from {imported}, but the installed xctoken "
                                f"{dist.version} is {expected}: run pytest (not python -m pytest) from an environment "
                                "where xctoken is installed (scripts/test.sh does both)")


# AlgorithmIdentifier { id-ecPublicKey, prime256v1 }
_EC_P256_ALGORITHM = bytes.fromhex("301306072a8648ce3d020106082a8648ce3d030107")


def apple_layout_der(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """PKCS#8 the way Apple writes AuthKey_<KEYID>.p8: the inner ECPrivateKey keeps its curve parameters.

    cryptography and OpenSSL leave them out when they write PKCS#8 (the body starts
    ``MIGHAgEA``); Apple's files carry them (``MIGTAgEA``). Built by hand, from the
    SEC1 encoding (which has them), so tests see the bytes users really have.
    """
    sec1 = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                                     serialization.NoEncryption())
    content = b"\x02\x01\x00" + _EC_P256_ALGORITHM + b"\x04" + bytes([len(sec1)]) + sec1
    return b"\x30\x81" + bytes([len(content)]) + content


def pem_text(der: bytes, label: str = "PRIVATE KEY") -> str:
    body = base64.b64encode(der).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


@dataclass(frozen=True)
class TestKey:
    """A fresh P-256 key and its common renderings.

    ``layout`` "apple" (the default: what users have) renders PKCS#8 as Apple's
    .p8 files are; "openssl" as cryptography writes it.
    """

    __test__ = False  # a fixture type, not a test class for pytest to collect
    private_key: ec.EllipticCurvePrivateKey
    key_id: str = KEY_ID
    layout: str = "apple"

    @property
    def pem(self) -> str:
        return pem_text(self.der)

    @property
    def der(self) -> bytes:
        if self.layout == "apple":
            return apple_layout_der(self.private_key)
        return self.private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def public_numbers(self) -> ec.EllipticCurvePublicNumbers:
        return self.private_key.public_key().public_numbers()

    def write(self, directory: Path, name: str | None = None, mode: int = 0o600) -> Path:
        path = directory / (name or f"AuthKey_{self.key_id}.p8")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.pem)
        os.chmod(path, mode)
        return path


@pytest.fixture
def test_key() -> TestKey:
    return TestKey(ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture(params=["apple", "openssl"])
def any_layout_key(request: pytest.FixtureRequest) -> TestKey:
    """Both PKCS#8 layouts, for tests about key forms and masking."""
    return TestKey(ec.generate_private_key(ec.SECP256R1()), layout=request.param)


@pytest.fixture
def make_key() -> Callable[..., TestKey]:
    return lambda key_id=KEY_ID, layout="apple": TestKey(ec.generate_private_key(ec.SECP256R1()), key_id, layout)


GIT_AS_TESTS = ["git", "-c", "user.name=xctoken-tests", "-c", "user.email=tests@xctoken.invalid"]


def copy_checkout(target: Path, edit: Callable[[Path], None] | None = None, message: str = "main") -> Path:
    """The checkout's files (tracked and new, not ignored) in ``target``, committed on ``main``.

    ``edit`` changes the copy before the commit (act and the release rehearsal run a copy
    whose Dockerfile base is the local stand-in).
    """
    names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, names):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    if edit is not None:
        edit(target)
    for argv in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], [*GIT_AS_TESTS, "commit", "-qm", message]):
        subprocess.run(argv, cwd=target, check=True, capture_output=True)
    return target


def load_release_script(root: Path = ROOT) -> ModuleType:
    """scripts/release.py of ``root`` as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("xctoken_release_script", root / "scripts" / "release.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def clean_env(**extra: str) -> dict[str, str]:
    """The environment a CLI subprocess gets: no inherited credentials or CI markers."""
    keep = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | bytes | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run `python -m xctoken ARGS` as a user would, capturing bytes."""
    data = input.encode() if isinstance(input, str) else input
    return subprocess.run([sys.executable, "-m", "xctoken", *args], env=env if env is not None else clean_env(),
                          input=data, capture_output=True, cwd=cwd, timeout=60)


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


# Platform skips, each naming what the other systems lack. The quick jobs run on macOS too
# (BSD userland, no /proc, no /dev/full): a test that needs one of these is skipped there,
# saying so; every other test runs everywhere.
needs_dev_full = pytest.mark.skipif(
    not os.path.exists("/dev/full"),
    reason="needs /dev/full (a device every write to fails with ENOSPC): Linux has it, macOS does not")
needs_proc = pytest.mark.skipif(
    not os.path.isdir("/proc/self/fd"),
    reason="needs /proc (a process's fds and wait state): Linux has it, macOS does not")


# scripts/test.sh --quick sets XCTOKEN_SKIP_DOCKER=1: then no test that needs Docker (the
# container tests, act, gitlab-ci-local) runs, even where an engine answers.
SKIPPED_BY_QUICK = "skipped by --quick (XCTOKEN_SKIP_DOCKER=1): needs Docker"
DOCKER_MARKERS = ("docker", "slow")  # every slow test runs act or gitlab-ci-local, on Docker


def skip_docker() -> bool:
    return os.environ.get("XCTOKEN_SKIP_DOCKER") == "1"


def pytest_configure(config: pytest.Config) -> None:
    check_installed_package()
    if skip_docker() and os.environ.get("XCTOKEN_REQUIRE_DOCKER") == "1":
        raise pytest.UsageError("XCTOKEN_SKIP_DOCKER=1 and XCTOKEN_REQUIRE_DOCKER=1 contradict each other")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that uses the Docker gate must say so (the docker marker); under --quick none of those runs.

    The skip is added at collection, so not even a session fixture (an image build) starts.
    """
    unmarked = [item.nodeid for item in items
                if "require_docker" in getattr(item, "fixturenames", ()) and item.get_closest_marker("docker") is None]
    if unmarked:
        raise pytest.UsageError("tests that use require_docker lack @pytest.mark.docker: " + ", ".join(unmarked))
    if skip_docker():
        skip = pytest.mark.skip(reason=SKIPPED_BY_QUICK)
        for item in items:
            if any(item.get_closest_marker(name) is not None for name in DOCKER_MARKERS):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def require_docker() -> None:
    """Skip without a Docker engine, unless XCTOKEN_REQUIRE_DOCKER=1 (CI), where that is a failure.

    Under XCTOKEN_SKIP_DOCKER=1 (--quick) it skips without asking the engine at all.
    """
    if skip_docker():
        pytest.skip(SKIPPED_BY_QUICK)
    if docker_available():
        return
    if os.environ.get("XCTOKEN_REQUIRE_DOCKER") == "1":
        pytest.fail("XCTOKEN_REQUIRE_DOCKER=1 but no Docker engine answers `docker info`")
    pytest.skip("no Docker engine (run scripts/test.sh without --quick to provision one)")

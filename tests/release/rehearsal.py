"""A real registry and a real package index on loopback, for the release rehearsal.

The registry is Debian's docker-registry (distribution 2.8), the index pypiserver,
both started here on free ports with their data in the test's temporary directory.
Docker treats registries on 127.0.0.0/8 as insecure (plain HTTP) by default, so the
engine pushes to and pulls from ``localhost:PORT`` without TLS, as nowhere else.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REGISTRY = shutil.which("docker-registry") or "/usr/bin/docker-registry"
PYPI_SERVER = Path(sys.executable).parent / "pypi-server"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url}: the server exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback http, the server just started
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds} s: {log.read_text()[-2000:]}")


@contextmanager
def _serving(argv: list[str], url: str, log: Path) -> Iterator[None]:
    with log.open("wb") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        _wait_for(url, process, log)
        yield
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def registry(directory: Path) -> Iterator[str]:
    """An OCI registry at localhost:PORT; yields that host:port."""
    if not Path(REGISTRY).exists():
        raise AssertionError("docker-registry is not installed: .ci/provision.sh installs it (Debian package)")
    port = free_port()
    config = directory / "registry.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {directory / 'data'}\n"
                      f"  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\nlog:\n  level: warn\n")
    with _serving([REGISTRY, "serve", str(config)], f"http://127.0.0.1:{port}/v2/", directory / "registry.log"):
        yield f"localhost:{port}"


@contextmanager
def package_index(directory: Path) -> Iterator[str]:
    """pypiserver with uploads open to anyone (loopback only); yields its base URL."""
    if not PYPI_SERVER.exists():
        raise AssertionError(f"{PYPI_SERVER} is missing: it comes from requirements/dev.txt")
    port = free_port()
    packages = directory / "packages"
    packages.mkdir()
    argv = [str(PYPI_SERVER), "run", "--host", "127.0.0.1", "--port", str(port), "--authenticate", ".",
            "--passwords", ".", "--disable-fallback", str(packages)]
    with _serving(argv, f"http://127.0.0.1:{port}/simple/", directory / "index.log"):
        yield f"http://127.0.0.1:{port}"

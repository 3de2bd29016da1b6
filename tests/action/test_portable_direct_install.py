"""portable/bootstrap.py's direct install: the locked wheels fetched, checked and unpacked without pip.

What it must hold to: the same files pip would write, only wheels whose bytes hash to the
lock's hashes, and pip (with a reason in the log) for anything it cannot promise that for.
Indexes used: pypiserver (a real index implementation, HTML pages) and a small JSON index
(PEP 691) served here, both on loopback, with the wheels pip downloads for the lock.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import subprocess
import sys
import threading
import urllib.error
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import ROOT
from release.rehearsal import package_index

from action.test_portable_bootstrap import check_venv, load_bootstrap, run_bootstrap

LOCK = ROOT / "requirements" / "runtime.txt"
PIP_WRITES = {"INSTALLER", "RECORD", "direct_url.json"}  # an installer's own notes


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lock's wheels for this interpreter, as pip picks them (with this machine's pip settings)."""
    directory = tmp_path_factory.mktemp("wheels")
    result = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary",
                             ":all:", "--require-hashes", "-r", str(LOCK), "-d", str(directory)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return directory


def index_env(index: str) -> dict[str, str]:
    """Only this index, no pip configuration file: what a hosted runner's pip sees, pointed here."""
    return {"PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": index}


def bootstrap_with(runner_temp: Path, settings: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_bootstrap(sys.executable, runner_temp, settings)  # only these PIP_* variables


def site_packages(python: str) -> Path:
    probe = "import sysconfig; print(sysconfig.get_path('purelib'))"
    return Path(subprocess.run([python, "-I", "-c", probe], capture_output=True, text=True, check=True).stdout.strip())


def tree(directory: Path) -> dict[str, tuple[str, bool]]:
    """Every file an install wrote but its own notes and bytecode: path -> (sha256, executable)."""
    return {path.relative_to(directory).as_posix(): (hashlib.sha256(path.read_bytes()).hexdigest(),
                                                     os.access(path, os.X_OK))
            for path in directory.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.name not in PIP_WRITES}


@contextmanager
def json_index(wheels: Path, serve: dict[str, bytes] | None = None,
               requires_python: str = "") -> Iterator[str]:
    """A PEP 691 index of `wheels` on loopback. `serve` swaps a file's bytes (its listed hash stays)."""
    files = {path.name: path.read_bytes() for path in wheels.iterdir()}

    class Index(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            parts = self.path.strip("/").split("/")
            if parts[0] == "simple" and len(parts) == 2:
                listed = [{"filename": name, "url": f"/files/{name}", "hashes": {"sha256": hashlib.sha256(data)
                           .hexdigest()}, "requires-python": requires_python or None}
                          for name, data in files.items() if name.split("-")[0].replace("_", "-").lower()
                          == parts[1].replace("_", "-")]
                body, kind = json.dumps({"meta": {"api-version": "1.0"}, "name": parts[1], "files": listed}).encode(), \
                    "application/vnd.pypi.simple.v1+json"
            elif parts[0] == "files" and parts[1] in files:
                body, kind = (serve or {}).get(parts[1], files[parts[1]]), "application/octet-stream"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Index)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_from_a_real_index_it_writes_the_very_files_pip_writes(wheels: Path, tmp_path: Path) -> None:
    (tmp_path / "index").mkdir()
    with package_index(tmp_path / "index") as index:
        for wheel in wheels.iterdir():
            (tmp_path / "index" / "packages" / wheel.name).write_bytes(wheel.read_bytes())
        direct = bootstrap_with(tmp_path / "direct", index_env(f"{index}/simple/"))
    assert direct.returncode == 0, direct.stderr[-3000:]
    assert "6 locked wheels" in direct.stderr and "fetched, hash-checked and unpacked" in direct.stderr
    assert "pip installs" not in direct.stderr
    python = check_venv(direct.stdout, tmp_path / "direct")
    # pip, from the same wheels (find-links, no index: settings the direct install leaves to pip).
    by_pip = bootstrap_with(tmp_path / "pip", {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1",
                                               "PIP_FIND_LINKS": str(wheels)})
    assert by_pip.returncode == 0, by_pip.stderr[-3000:]
    assert "pip installs the lock (pip is configured with find-links, no-index)" in by_pip.stderr
    written, expected = tree(site_packages(python)), tree(site_packages(check_venv(by_pip.stdout, tmp_path / "pip")))
    assert written == expected and len(written) > 100
    installer = {path.read_text() for path in site_packages(python).glob("*.dist-info/INSTALLER")}
    assert installer == {"xctoken-portable\n"}


@pytest.mark.slow
def test_from_a_json_index_it_installs_and_mints(wheels: Path, tmp_path: Path) -> None:
    with json_index(wheels) as index:
        result = bootstrap_with(tmp_path, index_env(index))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "fetched, hash-checked and unpacked" in result.stderr
    python = check_venv(result.stdout, tmp_path)
    probe = ("from cryptography.hazmat.primitives.asymmetric import ec; import jwt; "
             "key = ec.generate_private_key(ec.SECP256R1()); "
             "print(jwt.decode(jwt.encode({'a': 1}, key, 'ES256'), key.public_key(), ['ES256'])['a'])")
    assert subprocess.run([python, "-I", "-c", probe], capture_output=True, text=True).stdout == "1\n"


@pytest.mark.slow
def test_bytes_that_are_not_the_lock_s_are_never_installed(wheels: Path, tmp_path: Path) -> None:
    # The index lists the locked wheel's hash but serves other bytes (a valid zip, too).
    pyjwt = next(path.name for path in wheels.iterdir() if path.name.startswith("pyjwt-"))
    forged = io.BytesIO()
    with zipfile.ZipFile(forged, "w") as archive:
        archive.writestr("jwt/__init__.py", "raise SystemExit('forged')\n")
    with json_index(wheels, serve={pyjwt: forged.getvalue()}) as index:
        result = bootstrap_with(tmp_path, index_env(index))
    # The direct install refuses, pip gets the same bytes and refuses too: nothing is ready.
    assert "pip installs the lock (pyjwt 2.15.1 as downloaded does not match the lock's hashes)" in result.stderr
    assert result.returncode == 1 and "THESE PACKAGES DO NOT MATCH THE HASHES" in result.stderr
    assert "::error title=xctoken::the pinned dependencies (requirements/runtime.txt) could not be installed" \
        in result.stderr
    assert not list(tmp_path.glob("xctoken-venv-*/.xctoken-ready"))


@pytest.mark.slow
def test_a_wheel_this_python_is_too_old_for_is_not_installed(wheels: Path, tmp_path: Path) -> None:
    with json_index(wheels, requires_python=">=99") as index:
        result = bootstrap_with(tmp_path, index_env(index))
    assert "the index lists no wheel of" in result.stderr and "in the lock for this Python" in result.stderr
    assert result.returncode == 1  # and pip, reading the same Requires-Python, finds none either


# --- the parts, one by one ------------------------------------------------------------------------


def test_the_lock_reads_as_pins_with_hashes() -> None:
    bootstrap = load_bootstrap()
    pins = bootstrap.read_lock(LOCK.read_text())
    assert {pin.name for pin in pins} == {"actions-toolkit", "cffi", "cryptography", "pycparser", "pyjwt",
                                          "typing-extensions"}
    assert all(pin.hashes and all(len(digest) == 64 for digest in pin.hashes) for pin in pins)


@pytest.mark.parametrize(("lock", "reason"), [
    ("pyjwt==2.15.1 ; python_version < '3.12' \\\n    --hash=sha256:" + "a" * 64, "line 1"),
    ("pyjwt==2.15.1\n", "has no sha256 hash"),
    ("pyjwt>=2\n    --hash=sha256:" + "a" * 64, "line 1"),
    ("--index-url https://example.invalid/simple\npyjwt==2.15.1 \\\n    --hash=sha256:" + "a" * 64, "line 1"),
])
def test_a_lock_the_direct_install_cannot_read_goes_to_pip(lock: str, reason: str) -> None:
    bootstrap = load_bootstrap()
    with pytest.raises(bootstrap.NotLikePip, match=reason):
        bootstrap.read_lock(lock)


@pytest.mark.parametrize(("settings", "steering"), [
    ({"PIP_EXTRA_INDEX_URL": "https://mirror.invalid/simple"}, "extra-index-url"),
    ({"PIP_PROXY": "http://proxy.invalid:3128"}, "proxy"),
    ({"PIP_TRUSTED_HOST": "mirror.invalid"}, "trusted-host"),
    ({"PIP_CONSTRAINT": "/etc/constraints.txt"}, "constraint"),
    ({"PIP_ISOLATED_MODE": "1"}, "isolated-mode"),
    ({"ALL_PROXY": "socks5://proxy.invalid:1080"}, "ALL_PROXY"),  # pip's requests reads it, urllib does not
])
def test_pip_settings_that_change_what_is_installed_go_to_pip(settings: dict[str, str], steering: str) -> None:
    bootstrap = load_bootstrap()
    environ = {"PIP_CONFIG_FILE": os.devnull, **settings}
    with pytest.raises(bootstrap.NotLikePip, match=f"pip is configured with {steering}"):
        bootstrap.index_and_tls(bootstrap.pip_settings(environ), environ)


def test_pip_s_settings_apply_in_pip_s_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pip._internal.utils import appdirs

    bootstrap = load_bootstrap()
    # This machine's own pip configuration out of the way: a global and a user file of the test's.
    (tmp_path / "global").mkdir()
    (tmp_path / "user").mkdir()
    monkeypatch.setattr(appdirs, "site_config_dirs", lambda app: [str(tmp_path / "global")])
    monkeypatch.setattr(appdirs, "user_config_dir", lambda app: str(tmp_path / "user"))
    monkeypatch.setattr(bootstrap.os.path, "expanduser", lambda path: str(tmp_path / "home"))
    (tmp_path / "global" / "pip.conf").write_text("[global]\nindex-url = https://global.invalid/simple\n")
    (tmp_path / "user" / "pip.conf").write_text("[global]\nindex-url = https://user.invalid/simple\ntimeout = 42\n"
                                                "[freeze]\nfind-links = x\n")
    index = bootstrap.index_and_tls(bootstrap.pip_settings({}), {})
    assert index[0] == "https://user.invalid/simple/" and index[2] == 15  # the user file wins; at most 15 s
    # Every file's [global] before every file's [install]: the global file's [install] beats the user's [global].
    (tmp_path / "global" / "pip.conf").write_text("[install]\nindex_url = https://install.invalid/simple\n")
    assert bootstrap.pip_settings({})["index-url"] == "https://install.invalid/simple"
    # PIP_* variables over every file; empty values count for nothing, as in pip.
    assert bootstrap.pip_settings({"PIP_INDEX_URL": "https://env.invalid/simple"})["index-url"] == \
        "https://env.invalid/simple"
    assert bootstrap.pip_settings({"PIP_INDEX_URL": ""})["index-url"] == "https://install.invalid/simple"
    # An empty value in a later file unsets what an earlier file set.
    (tmp_path / "user" / "pip.conf").write_text("[install]\nindex-url =\n")
    assert "index-url" not in bootstrap.pip_settings({})
    # A PIP_CONFIG_FILE that exists: read last, and the user's files not at all.
    named = tmp_path / "named.conf"
    named.write_text("[global]\nretries = 1\n")
    assert bootstrap.pip_config_files({"PIP_CONFIG_FILE": str(named)}) == [str(tmp_path / "global" / "pip.conf"),
                                                                           str(named)]
    # PIP_CONFIG_FILE=os.devnull: no file at all.
    assert bootstrap.pip_config_files({"PIP_CONFIG_FILE": os.devnull}) == []


@pytest.mark.parametrize("index", ["http://mirror.invalid/simple", "https://user:secret@mirror.invalid/simple",
                                   "https://:secret@mirror.invalid/simple",
                                   "https://a.invalid/simple https://b.invalid/simple", "file:///srv/simple"])
def test_an_index_pip_would_treat_differently_goes_to_pip(index: str) -> None:
    bootstrap = load_bootstrap()
    with pytest.raises(bootstrap.NotLikePip, match="not one https URL without credentials") as refused:
        bootstrap.index_and_tls({"index-url": index}, {})
    assert "secret" not in str(refused.value)


def test_the_ca_bundle_is_the_one_pip_s_requests_would_use(tmp_path: Path) -> None:
    bootstrap = load_bootstrap()
    missing, system = str(tmp_path / "missing.pem"), "/etc/ssl/certs/ca-certificates.crt"
    for settings, environ in (({"cert": missing}, {}), ({}, {"REQUESTS_CA_BUNDLE": missing}),
                              ({}, {"CURL_CA_BUNDLE": missing}),
                              ({"cert": system}, {"REQUESTS_CA_BUNDLE": missing})):  # the variable wins
        for pip_version in ((23, 0), (24, 2)):
            with pytest.raises(FileNotFoundError):  # read, so it is the one used (and a failure goes to pip)
                bootstrap.index_and_tls(settings, environ, pip_version)


def test_an_older_pip_s_trust_is_certifi_alone_and_a_newer_one_s_adds_the_system_s() -> None:
    from pip._vendor import certifi

    bootstrap = load_bootstrap()
    certifi_only = __import__("ssl").create_default_context(cafile=certifi.where()).cert_store_stats()["x509_ca"]
    older = bootstrap.index_and_tls({}, {}, (23, 0))[1].cert_store_stats()["x509_ca"]
    newer = bootstrap.index_and_tls({}, {}, (24, 2))[1].cert_store_stats()["x509_ca"]
    assert older == certifi_only and newer >= certifi_only


def test_the_default_index_is_the_runner_pip_s_own() -> None:
    from pip._internal.models.index import PyPI

    bootstrap = load_bootstrap()
    assert bootstrap.index_and_tls({}, {})[0] == PyPI.simple_url.rstrip("/") + "/"


def ranked(*tags: str) -> dict[object, int]:
    from pip._vendor.packaging.tags import parse_tag

    return {tag: rank for rank, text in enumerate(tags) for tag in parse_tag(text)}


def listed(filename: str, url: str, sha256: str, requires_python: str = "", yanked: bool = False) -> object:
    return load_bootstrap().IndexFile(filename, url, sha256, requires_python, yanked)


def test_the_wheel_chosen_is_the_locked_one_with_this_python_s_best_tag() -> None:
    bootstrap = load_bootstrap()
    pin = bootstrap.Pin("cryptography", "50.0.2", frozenset({"1" * 64, "2" * 64, "3" * 64}))
    files = [
        listed("cryptography-50.0.2-cp311-abi3-manylinux_2_28_x86_64.whl", "u28", "1" * 64),
        listed("cryptography-50.0.2-cp311-abi3-manylinux_2_34_x86_64.whl", "u34", "2" * 64),
        listed("cryptography-50.0.2-cp311-abi3-manylinux_2_34_x86_64.whl", "unlocked", "9" * 64),  # not in the lock
        listed("cryptography-50.0.2-cp311-abi3-win_amd64.whl", "uwin", "3" * 64),
        listed("cryptography-50.0.2.tar.gz", "usdist", "3" * 64),
    ]
    ranks = ranked("cp311-abi3-manylinux_2_34_x86_64", "cp311-abi3-manylinux_2_28_x86_64")
    assert bootstrap.choose(pin, files, ranks).url == "u34"
    # Requires-Python that this interpreter does not meet takes a file out; one pip cannot read does not.
    files[1] = files[1]._replace(requires_python=">=99")
    assert bootstrap.choose(pin, files, ranks).url == "u28"
    files[0] = files[0]._replace(requires_python="not a specifier")
    assert bootstrap.choose(pin, files, ranks).url == "u28"
    # A yanked file comes after every file that is not, whatever its tag (as pip sorts them).
    files[1] = files[1]._replace(requires_python="", yanked=False)
    files[0], files[1] = files[0]._replace(requires_python=""), files[1]._replace(yanked=True)
    assert bootstrap.choose(pin, files, ranks).url == "u28"
    with pytest.raises(bootstrap.NotLikePip, match="lists no wheel of cryptography 50.0.2"):
        bootstrap.choose(pin, files, ranked("cp311-abi3-macosx_11_0_arm64"))
    # A file named as another project, even with a locked hash, is not this pin's.
    other = [listed("pyjwt-2.15.1-py3-none-any.whl", "x", "1" * 64)]
    with pytest.raises(bootstrap.NotLikePip):
        bootstrap.choose(pin, other, ranked("py3-none-any"))


class PageIndex:
    """An Index whose every read answers one page."""

    url = "https://index.invalid/simple/"

    def __init__(self, body: bytes, kind: str) -> None:
        self.body, self.kind = body, kind

    def read(self, target: object) -> tuple[bytes, str, str]:
        return self.body, self.kind, "https://index.invalid/simple/cffi/"


def test_a_file_s_name_is_its_url_s_last_segment_as_pip_reads_it() -> None:
    # The JSON page's "filename" says manylinux; the URL (what pip reads tags from) says Windows.
    bootstrap = load_bootstrap()
    page = {"files": [{"filename": "cffi-2.1.1-cp311-cp311-manylinux_2_17_x86_64.whl",
                       "url": "../../files/cffi-2.1.1-cp311-cp311-win_amd64.whl#sha256=ignored",
                       "hashes": {"sha256": "1" * 64}, "yanked": "broken"}]}
    files = bootstrap.project_files(PageIndex(json.dumps(page).encode(), bootstrap.JSON_PAGE), "cffi")
    assert files == [bootstrap.IndexFile("cffi-2.1.1-cp311-cp311-win_amd64.whl",
                                         "https://index.invalid/files/cffi-2.1.1-cp311-cp311-win_amd64.whl",
                                         "1" * 64, "", True)]


def test_an_html_page_is_read_as_pip_reads_it() -> None:
    bootstrap = load_bootstrap()
    html = (b'<html><head><base href="https://files.invalid/p/"></head><body>'
            b'<a href="cffi-2.1.1-py3-none-any.whl#sha256=' + b"2" * 64 + b'" data-requires-python="&gt;=3.9" '
            b'data-yanked="">yanked, no reason</a>'
            b'<a href="/f/cffi-2.1.1-py2-none-any.whl#sha256=' + b"3" * 64 + b'" data-yanked>bare: not yanked</a>'
            b"</body></html>")
    files = bootstrap.project_files(PageIndex(html, "text/html"), "cffi")
    assert files == [
        bootstrap.IndexFile("cffi-2.1.1-py3-none-any.whl", "https://files.invalid/p/cffi-2.1.1-py3-none-any.whl",
                            "2" * 64, ">=3.9", True),
        bootstrap.IndexFile("cffi-2.1.1-py2-none-any.whl", "https://files.invalid/f/cffi-2.1.1-py2-none-any.whl",
                            "3" * 64, "", False),
    ]


def test_the_higher_build_number_wins_a_tie() -> None:
    bootstrap = load_bootstrap()
    pin = bootstrap.Pin("demo", "1.0", frozenset({"1" * 64, "2" * 64}))
    files = [listed("demo-1.0-1-py3-none-any.whl", "build1", "1" * 64),
             listed("demo-1.0-2-py3-none-any.whl", "build2", "2" * 64)]
    assert bootstrap.choose(pin, files, ranked("py3-none-any")).url == "build2"


def test_a_stalled_or_stopped_download_gives_way_to_pip(wheels: Path) -> None:
    bootstrap = load_bootstrap()
    with json_index(wheels) as url:
        index = bootstrap.Index(url, None, 5)
        assert index.read(url + "pyjwt/")[1] == bootstrap.JSON_PAGE
        index.deadline = 0  # past it: the index has taken too long
        with pytest.raises(bootstrap.NotLikePip, match="the index took more than 60 s"):
            index.read(url + "pyjwt/")
        index = bootstrap.Index(url, None, 5)
        index.stopped.set()  # another download failed: this one stops too
        with pytest.raises(bootstrap.NotLikePip, match="stopped: another download failed"):
            index.read(url + "pyjwt/")


def test_only_https_urls_are_opened_and_followed() -> None:
    bootstrap = load_bootstrap()
    https = "https://index.invalid/simple/"
    assert bootstrap.allowed_url("https://files.invalid/x.whl", https)
    for url in ("http://files.invalid/x.whl", "file:///etc/passwd", "ftp://files.invalid/x.whl",
                "http://127.0.0.1:8080/x.whl"):  # http to loopback only where the index itself is
        assert not bootstrap.allowed_url(url, https), url
    assert bootstrap.allowed_url("http://127.0.0.1:8080/x.whl", "http://127.0.0.1:8080/simple/")
    opener = bootstrap.opener_for(https, __import__("ssl").create_default_context())
    with pytest.raises(urllib.error.URLError, match="unknown url type"):
        opener.open("file:///etc/passwd", timeout=5)


def wheel_bytes(files: dict[str, str], root_is_purelib: bool = True, tag: str = "py3-none-any") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("demo-1.0.dist-info/WHEEL", f"Wheel-Version: 1.0\nRoot-Is-Purelib: "
                                                      f"{str(root_is_purelib).lower()}\nTag: {tag}\n")
        archive.writestr("demo-1.0.dist-info/RECORD", "demo/__init__.py,,")  # no newline at the end
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def demo_wheel(data: bytes) -> object:
    bootstrap = load_bootstrap()
    return bootstrap.Wheel(bootstrap.Pin("demo", "1.0", frozenset()), data)


@pytest.mark.parametrize(("name", "reason"), [
    ("../escape.py", "a path outside the venv"),
    ("/etc/escape.py", "a path outside the venv"),
    ("C:/escape.py", "a path outside the venv"),
    ("demo/C:escape.pyd", "a path outside the venv"),     # Windows: a drive-relative path
    ("demo/x.py:stream", "a path outside the venv"),      # Windows: an NTFS alternate data stream
    ("demo/\x1b[31m.py", "a path outside the venv"),
    ("demo\\..\\..\\escape.py", "a path outside the venv"),
    ("demo-1.0.data/scripts/demo", "installs scripts files"),
    ("demo-1.0.data/headers/demo.h", "installs headers files"),
    ("other-1.0.dist-info/METADATA", "no .dist-info directory of its own"),
])
def test_a_wheel_that_would_write_outside_site_packages_writes_nothing(tmp_path: Path, name: str,
                                                                       reason: str) -> None:
    bootstrap = load_bootstrap()
    wheel = demo_wheel(wheel_bytes({"demo/__init__.py": "", name: "x"}))
    with pytest.raises(bootstrap.NotLikePip, match=reason):
        bootstrap.unpack(wheel, str(tmp_path / "pure"), str(tmp_path / "plat"), ranked("py3-none-any"))
    assert not list(tmp_path.rglob("*"))  # every path is checked before the first is written


def test_a_wheel_whose_wheel_file_names_another_platform_writes_nothing(tmp_path: Path) -> None:
    bootstrap = load_bootstrap()
    wheel = demo_wheel(wheel_bytes({"demo/__init__.py": ""}, tag="cp311-cp311-win_amd64"))
    with pytest.raises(bootstrap.NotLikePip, match="built for another platform or Python"):
        bootstrap.unpack(wheel, str(tmp_path / "pure"), str(tmp_path / "plat"), ranked("cp311-cp311-linux_x86_64"))
    assert not list(tmp_path.rglob("*"))


def test_executable_bits_follow_pip_s_rule(tmp_path: Path) -> None:
    bootstrap = load_bootstrap()
    buffer = io.BytesIO(wheel_bytes({}))
    with zipfile.ZipFile(buffer, "a") as archive:
        for name, mode in (("demo/tool.so", 0o100755), ("demo/odd.so", 0o755), ("demo/plain.py", 0o100644)):
            entry = zipfile.ZipInfo(name)
            entry.external_attr = mode << 16
            archive.writestr(entry, "x")
    bootstrap.unpack(demo_wheel(buffer.getvalue()), str(tmp_path), str(tmp_path), ranked("py3-none-any"))
    # Executable only where the wheel says so of a regular file (0o755 without the file type: not).
    assert [os.access(tmp_path / "demo" / name, os.X_OK) for name in ("tool.so", "odd.so", "plain.py")] == \
        [True, False, False]


def test_a_wheel_is_spread_as_the_format_says(tmp_path: Path) -> None:
    bootstrap = load_bootstrap()
    data = wheel_bytes({"demo/__init__.py": "A = 1\n", "demo-1.0.data/purelib/pure.py": "B = 2\n"},
                       root_is_purelib=False)
    bootstrap.unpack(demo_wheel(data), str(tmp_path / "pure"), str(tmp_path / "plat"), ranked("py3-none-any"))
    assert (tmp_path / "plat" / "demo" / "__init__.py").read_text() == "A = 1\n"
    assert (tmp_path / "pure" / "pure.py").read_text() == "B = 2\n"
    record = tmp_path / "plat" / "demo-1.0.dist-info"
    assert (record / "INSTALLER").read_text() == "xctoken-portable\n" and (record / "REQUESTED").read_text() == ""
    assert (record / "RECORD").read_text() == ("demo/__init__.py,,\ndemo-1.0.dist-info/INSTALLER,,\n"
                                               "demo-1.0.dist-info/REQUESTED,,\n")


def test_pip_runs_with_workflow_commands_paused(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    # pip prints what the index chose (a yanked file's reason): a "::" line there must not be a command.
    bootstrap = load_bootstrap()
    monkeypatch.setattr(bootstrap.subprocess, "run", lambda argv, **kwargs: print(
        "::warning title=from the index::injected", file=sys.stderr) or subprocess.CompletedProcess(argv, 0))
    assert bootstrap.run_pip(["pip"]) == 0
    lines = capsys.readouterr().err.splitlines()
    pause = lines[0].removeprefix("::stop-commands::")
    assert len(pause) == 32 and lines == [f"::stop-commands::{pause}", "::warning title=from the index::injected",
                                          f"::{pause}::"]


@pytest.mark.slow
def test_a_pip_or_venv_in_the_workspace_is_never_run(wheels: Path, tmp_path: Path) -> None:
    # The step runs in the workspace: python -m pip there would find a checked-in pip/ first.
    workspace = tmp_path / "workspace"
    for module in ("pip", "venv", "ensurepip"):
        (workspace / module).mkdir(parents=True)
        (workspace / module / "__init__.py").write_text("")
        (workspace / module / "__main__.py").write_text(f"open({str(tmp_path / 'RAN')!r}, 'a').write('{module}')\n")
    result = run_bootstrap(sys.executable, tmp_path / "rt", {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1",
                                                            "PIP_FIND_LINKS": str(wheels)}, cwd=workspace)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "pip installs the lock (pip is configured with find-links, no-index)" in result.stderr
    assert not (tmp_path / "RAN").exists()


def test_a_failed_direct_install_says_only_what_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    bootstrap = load_bootstrap()

    def refuse(directory: Path, python: Path, pip_version: tuple[int, ...]) -> str:
        raise OSError("https://token-in-the-path.invalid/SECRET/simple/pyjwt/ refused")

    monkeypatch.setattr(bootstrap, "runner_pip_version", lambda: (24, 0))
    monkeypatch.setattr(bootstrap, "install_directly", refuse)
    monkeypatch.setattr(bootstrap, "create", lambda directory, with_pip: None)
    monkeypatch.setattr(bootstrap, "run_pip", lambda argv: 0)
    assert bootstrap.install(tmp_path / "v", tmp_path / "v" / "bin" / "python")[0] == 0
    said = capsys.readouterr().err
    assert "pip installs the lock (the direct install failed: OSError)" in said and "SECRET" not in said


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.usefixtures("require_docker")
def test_with_a_newer_runner_pip_it_installs_from_the_public_index_over_tls() -> None:
    # The runner image's own pip is 23.0 (certifi's trust); macOS runners carry pip 24.2 or
    # later (the system's and certifi's). A pip of that kind, the index pip uses by default,
    # https, no pip configuration: what a hosted runner has.
    from action.test_workflow import RUNNER_IMAGE

    script = (
        "set -e; python3 -m venv /tmp/runner; /tmp/runner/bin/python -m pip install -q pip==25.3; "
        "/tmp/runner/bin/python -m pip --version; mkdir -p /tmp/rt; "
        "python=$(PIP_CONFIG_FILE=/dev/null RUNNER_TEMP=/tmp/rt /tmp/runner/bin/python -I /src/portable/bootstrap.py); "
        "$python -I -c 'import cryptography.hazmat.primitives.asymmetric.ec, jwt, actions_toolkit.file_command' "
        "&& echo IMPORTS-OK"
    )
    result = subprocess.run(["docker", "run", "--rm", "-v", f"{ROOT}:/src:ro", RUNNER_IMAGE, "bash", "-c", script],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "pip 25.3" in result.stdout and "IMPORTS-OK" in result.stdout
    assert "fetched, hash-checked and unpacked" in result.stderr and "pip installs" not in result.stderr

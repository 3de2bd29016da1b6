"""Set up the portable action: a private venv with xctoken's pinned dependencies.

Standard library only: it runs on the runner's own Python (macOS, Linux, Windows).
Prints the venv's interpreter on standard output (the action runs the entry point
with it); everything it says, pip's output included, goes to standard error.

The venv goes under RUNNER_TEMP (emptied by the runner after every job), named
after the lock file's hash and the Python version, so a second use of the action
in the same job reuses it as it is. Dependencies come from requirements/runtime.txt
of this action's own checkout: pinned, hash-checked, wheels only, nothing else.

Made fast, because every iOS job pays for it before its first token:

- The venv is created without pip (``venv --without-pip``: about 0.05 s), never with
  the 2 to 4 s ``ensurepip`` spends copying a pip into every new venv.
- The wheels are fetched and unpacked here (about 0.3 s), not by pip (1 to 1.5 s,
  most of it pip starting twice for ``--python`` and weighing every file the index
  lists). It is what pip does for a lock like ours, no more: every requirement is
  ``name==version`` with sha256 hashes, so choosing a wheel is picking, among the
  files whose hash the lock lists, the one with the best tag for this interpreter
  (pip's own ``packaging``, vendored in the runner's pip, ranks the tags); the bytes
  are checked against the lock's hashes before anything is written, and a wheel is
  unpacked as the wheel format says (no scripts are needed in a private venv).
- Anything this does not know to be the same as pip (pip configured with other
  indexes, find-links, a proxy, credentials; an index that lists no hashes; a lock
  line with a marker; any failure at all) hands the install to the runner's pip
  (``pip --python VENV``, pip 22.3 or later) with the same guarantees
  (``--require-hashes --only-binary :all: --no-deps``), and the log says why. Only
  when the runner's Python has no such pip is the venv made with ``ensurepip``.
- Byte-compiling is left to the first import: a token imports a tenth of the files.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from pip._vendor.packaging.tags import Tag

ACTION_ROOT = Path(__file__).resolve().parent.parent
LOCK = ACTION_ROOT / "requirements" / "runtime.txt"
PIP_WITH_PYTHON_OPTION = (22, 3)  # `pip --python` appeared in pip 22.3
INSTALLER = "xctoken-portable"    # the dist-info INSTALLER of what the direct install unpacks

# pip settings that change nothing about which files are installed, or from where.
# Any other setting (extra-index-url, find-links, no-index, proxy, trusted-host,
# client-cert, constraint, ...) hands the install to pip, which knows what it means.
PIP_SETTINGS_KEPT = frozenset({
    "cert", "index-url", "timeout", "default-timeout", "retries", "disable-pip-version-check", "no-input",
    "no-cache-dir", "cache-dir", "progress-bar", "quiet", "verbose", "no-color", "root-user-action",
    "break-system-packages", "require-virtualenv", "no-python-version-warning", "no-warn-script-location",
    "only-binary", "prefer-binary", "no-compile", "log", "upgrade", "upgrade-strategy", "exists-action",
})
PIP_SECTIONS = ("global", "install")  # what `pip install` reads, in this order
JSON_PAGE = "application/vnd.pypi.simple.v1+json"  # PEP 691; an HTML page (PEP 503) is read too


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fail(message: str) -> int:
    say(f"::error title=xctoken::{message}")
    return 1


def venv_python(directory: Path) -> Path:
    if os.name == "nt":
        return directory / "Scripts" / "python.exe"
    return directory / "bin" / "python"


# --- installing with the runner's pip -----------------------------------------------------------


def pip_install(pip: list[str]) -> list[str]:
    """The one install command, whichever pip runs it: the pinned lock, hash-checked, wheels only."""
    return [*pip, "install", "--require-hashes", "--only-binary=:all:", "--no-deps", "--no-compile", "--quiet",
            "--disable-pip-version-check", "--no-input", "-r", str(LOCK)]


def runner_pip_version() -> tuple[int, ...] | None:
    """The version of the pip this Python has (its own, not a venv's), or None without one."""
    try:
        import pip  # its __init__ only names the version (importlib.metadata would cost 10 ms)
    except ImportError:
        return None
    parts = []
    for part in str(getattr(pip, "__version__", "")).split(".")[:2]:
        digits = "".join(c for c in part if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts) if parts and parts[0] else None


def quiet_env() -> dict[str, str]:
    # pip needs none of the step's inputs: the private key stays out of its environment.
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("INPUT_")}


def run_pip(argv: list[str]) -> int:
    return subprocess.run(argv, stdout=sys.stderr, env=quiet_env(), check=False).returncode


def create(directory: Path, with_pip: bool) -> None:
    import venv

    venv.EnvBuilder(with_pip=with_pip, clear=True).create(directory)


# --- installing directly: the lock, the index, the wheels ---------------------------------------


class NotLikePip(Exception):
    """The direct install cannot promise what pip would do here: pip installs instead."""


class Pin(NamedTuple):
    name: str               # normalized (PEP 503), as in the index's project URL
    version: str
    hashes: frozenset[str]  # sha256, hex


class Wheel(NamedTuple):
    pin: Pin
    filename: str
    data: bytes             # checked against pin.hashes


_REQUIREMENT = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(text: str) -> list[Pin]:
    """The lock's requirements; NotLikePip for anything but `name==version` lines with sha256 hashes."""
    pins: list[tuple[str, str, set[str]]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip().removesuffix("\\").strip()
        if not line or line.startswith("#"):
            continue
        requirement, hashes = _REQUIREMENT.fullmatch(line), _HASH.fullmatch(line)
        if requirement:
            pins.append((normalize(requirement[1]), requirement[2], set()))
        elif hashes and pins:
            pins[-1][2].add(hashes[1])
        else:
            raise NotLikePip(f"line {number} of the lock is not `name==version` or `--hash=sha256:...`")
    if not pins or not all(hashes for _, _, hashes in pins):
        raise NotLikePip("a requirement in the lock has no sha256 hash")
    return [Pin(name, version, frozenset(hashes)) for name, version, hashes in pins]


def pip_config_files(environ: dict[str, str]) -> list[str]:
    """The files `pip install` reads its settings from, in pip's order (later ones win)."""
    from pip._internal.utils import appdirs  # the runner's pip: its own idea of where they are

    named = environ.get("PIP_CONFIG_FILE")
    if named == os.devnull:  # pip's way of reading no file at all
        return []
    basename = "pip.ini" if os.name == "nt" else "pip.conf"
    files = [named] if named else []
    files += [os.path.join(path, basename) for path in appdirs.site_config_dirs("pip")]
    if not (named and os.path.exists(named)):  # a PIP_CONFIG_FILE that exists replaces the user's files
        files.append(os.path.join(os.path.expanduser("~"), "pip" if os.name == "nt" else ".pip", basename))
        files.append(os.path.join(appdirs.user_config_dir("pip"), basename))
    files.append(os.path.join(sys.prefix, basename))
    return files


def pip_settings(environ: dict[str, str]) -> dict[str, str]:
    """pip's settings for `pip install`, from its config files and PIP_* variables (dashes, lower case)."""
    import configparser

    settings: dict[str, str] = {}
    for path in pip_config_files(environ):
        if not os.path.isfile(path):
            continue
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError) as error:
            raise NotLikePip(f"pip's configuration {path} could not be read ({type(error).__name__})") from None
        for section in PIP_SECTIONS:
            if parser.has_section(section):
                settings.update((key.replace("_", "-").lower(), value) for key, value in parser.items(section))
    for name, value in environ.items():
        if name.startswith("PIP_") and name not in ("PIP_CONFIG_FILE", "PIP_VERSION", "PIP_HELP"):
            settings[name[4:].replace("_", "-").lower()] = value
    return settings


def index_and_tls(settings: dict[str, str]) -> tuple[str, object, float]:
    """The index URL, the TLS context and the timeout pip would use; NotLikePip where pip would do more."""
    import ssl
    import urllib.parse

    steering = sorted(set(settings) - PIP_SETTINGS_KEPT)
    if steering:
        raise NotLikePip(f"pip is configured with {', '.join(steering)}")
    from pip._internal.models.index import PyPI  # the index the runner's pip uses by default

    index = settings.get("index-url", "").strip() or PyPI.simple_url
    parts = urllib.parse.urlsplit(index)
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if len(index.split()) != 1 or parts.username or not (parts.scheme == "https" or
                                                          (parts.scheme == "http" and loopback)):
        # pip reads http only from loopback, and credentials may need its keyring.
        raise NotLikePip("the index is not one https URL without credentials")
    context = ssl.create_default_context(cafile=settings.get("cert") or None)
    if not settings.get("cert") and not context.cert_store_stats().get("x509_ca"):
        # A Python without a system CA store (python.org's macOS builds): pip's own bundle.
        import importlib.util

        spec = importlib.util.find_spec("pip")
        bundle = os.path.join(os.path.dirname(spec.origin or ""), "_vendor", "certifi", "cacert.pem") if spec else ""
        if not os.path.isfile(bundle):
            raise NotLikePip("this Python has no CA certificates to check the index with")
        context.load_verify_locations(cafile=bundle)
    try:
        timeout = float(settings.get("timeout") or settings.get("default-timeout") or 15)
    except ValueError:
        raise NotLikePip("pip's timeout setting is not a number") from None
    return index.rstrip("/") + "/", context, timeout


def project_files(opener: object, index: str, name: str, timeout: float) -> list[tuple[str, str, str, str]]:
    """The index's files for a project: (filename, URL, sha256 or "", requires-python or "")."""
    import html.parser
    import json
    import urllib.parse
    import urllib.request

    # S310: index_and_tls let only https (or http to loopback) through.
    request = urllib.request.Request(f"{index}{name}/",  # noqa: S310
                                     headers={"Accept": f"{JSON_PAGE}, text/html;q=0.1"})
    with opener.open(request, timeout=timeout) as response:  # type: ignore[attr-defined]
        body, kind, base = response.read(), response.headers.get_content_type(), response.geturl()
    files: list[tuple[str, str, str, str]] = []
    if kind == JSON_PAGE:
        for entry in json.loads(body)["files"]:
            url = urllib.parse.urljoin(base, entry["url"])
            files.append((entry["filename"], url, entry.get("hashes", {}).get("sha256", ""),
                          entry.get("requires-python") or ""))
        return files

    class Anchors(html.parser.HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found = dict(attrs)
            if tag == "a" and found.get("href"):
                url, _, fragment = urllib.parse.urljoin(base, found["href"] or "").partition("#")
                filename = urllib.parse.unquote(url.rsplit("/", 1)[-1])
                digest = fragment[len("sha256="):] if fragment.startswith("sha256=") else ""
                files.append((filename, url, digest, found.get("data-requires-python") or ""))

    Anchors().feed(body.decode("utf-8", "replace"))
    return files


def choose(pin: Pin, files: list[tuple[str, str, str, str]], ranks: dict[Tag, int]) -> tuple[str, str]:
    """The locked wheel pip would pick here: hash in the lock, Requires-Python met, best-ranked tag."""
    from pip._vendor.packaging.specifiers import InvalidSpecifier, SpecifierSet
    from pip._vendor.packaging.utils import InvalidWheelFilename, parse_wheel_filename

    python = ".".join(map(str, sys.version_info[:3]))
    best: tuple[int, str, str] | None = None
    for filename, url, digest, requires_python in files:
        if digest not in pin.hashes or not filename.endswith(".whl"):
            continue
        try:
            name, version, _, tags = parse_wheel_filename(filename)
            if requires_python and not SpecifierSet(requires_python).contains(python, prereleases=True):
                continue
        except (InvalidWheelFilename, InvalidSpecifier):
            continue
        if normalize(name) != pin.name or str(version) != pin.version:
            continue
        rank = min((ranks[tag] for tag in tags if tag in ranks), default=None)
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, filename, url)
    if best is None:
        raise NotLikePip(f"the index lists no wheel of {pin.name} {pin.version} in the lock for this Python")
    return best[1], best[2]


def fetch(opener: object, index: str, pin: Pin, ranks: dict[Tag, int], timeout: float) -> Wheel:
    filename, url = choose(pin, project_files(opener, index, pin.name, timeout), ranks)
    with opener.open(url, timeout=timeout) as response:  # type: ignore[attr-defined]
        data = response.read()
    if hashlib.sha256(data).hexdigest() not in pin.hashes:
        raise NotLikePip(f"{filename} as downloaded does not match the lock's hashes")
    return Wheel(pin, filename, data)


def wheel_root(names: list[str]) -> str:
    """The wheel's one top-level .dist-info directory (where WHEEL and RECORD are)."""
    roots = {name.split("/", 1)[0] for name in names if name.split("/", 1)[0].endswith(".dist-info")}
    if len(roots) != 1:
        raise NotLikePip("a wheel without exactly one .dist-info directory")
    return roots.pop()


def unpack(wheel: Wheel, purelib: str, platlib: str) -> None:
    """Write a wheel's files into the venv (the binary distribution format's "spread" step)."""
    import io
    import shutil
    import zipfile

    with zipfile.ZipFile(io.BytesIO(wheel.data)) as archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        dist_info = wheel_root([info.filename for info in members])
        metadata = archive.read(f"{dist_info}/WHEEL").decode("utf-8")
        if not re.search(r"^Wheel-Version: 1\.", metadata, re.MULTILINE):
            raise NotLikePip(f"{wheel.filename} is not a version 1 wheel")
        root = purelib if re.search(r"^Root-Is-Purelib: true", metadata, re.MULTILINE | re.IGNORECASE) else platlib
        targets = []
        for info in members:  # every path checked before the first is written
            parts = info.filename.split("/")
            if info.filename.startswith("/") or "\\" in info.filename or ":" in parts[0] or ".." in parts:
                raise NotLikePip(f"{wheel.filename} holds a path outside the venv")
            if parts[0].endswith(".data"):
                if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                    raise NotLikePip(f"{wheel.filename} installs {parts[1]} files (pip writes those)")
                targets.append((info, os.path.join(purelib if parts[1] == "purelib" else platlib, *parts[2:])))
            else:
                targets.append((info, os.path.join(root, *parts)))
        for info, target in targets:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with archive.open(info) as source, open(target, "wb") as destination:
                shutil.copyfileobj(source, destination)
    record = os.path.join(root, dist_info)
    with open(os.path.join(record, "INSTALLER"), "w", encoding="utf-8") as installer:
        installer.write(INSTALLER + "\n")
    with open(os.path.join(record, "RECORD"), "a", encoding="utf-8") as listing:
        listing.write(f"{dist_info}/INSTALLER,,\n")


def venv_site_packages(python: Path) -> tuple[str, str]:
    """Where the venv's interpreter looks for packages (purelib, platlib), as pip --python asks it."""
    probe = "import sysconfig; print(sysconfig.get_path('purelib')); print(sysconfig.get_path('platlib'))"
    result = subprocess.run([str(python), "-I", "-c", probe], capture_output=True, text=True, check=False,
                            env=quiet_env())
    paths = result.stdout.splitlines()
    if result.returncode != 0 or len(paths) != 2:
        raise NotLikePip("the venv's interpreter did not say where its packages go")
    return paths[0], paths[1]


def install_directly(directory: Path, python: Path) -> str:
    """Fill the venv with the lock's wheels, fetched in parallel; how it went, or NotLikePip."""
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    try:
        from pip._vendor.packaging import tags
    except ImportError:
        raise NotLikePip("the runner's pip has no packaging to rank wheel tags with") from None
    pins = read_lock(LOCK.read_text(encoding="utf-8"))
    index, context, timeout = index_and_tls(pip_settings(dict(os.environ)))
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))  # type: ignore[arg-type]
    ranks = {tag: rank for rank, tag in enumerate(tags.sys_tags())}  # this interpreter's, best first
    started = time.monotonic()
    made = started

    def make_venv() -> tuple[str, str]:
        nonlocal made
        create(directory, with_pip=False)
        made = time.monotonic()
        return venv_site_packages(python)

    def fetch_and_unpack(pin: Pin) -> Wheel:
        wheel = fetch(opener, index, pin, ranks, timeout)
        unpack(wheel, *layout.result())  # each wheel unpacked as it arrives, into the new venv
        return wheel

    # The venv first (a worker of its own), so no fetch can wait for a job that never starts.
    with ThreadPoolExecutor(max_workers=len(pins) + 1) as pool:
        layout = pool.submit(make_venv)
        jobs = [pool.submit(fetch_and_unpack, pin) for pin in pins]
        wheels = [job.result() for job in jobs]
    size = sum(len(wheel.data) for wheel in wheels) / 1e6
    return (f"venv {made - started:.2f} s (without pip), {len(wheels)} locked wheels ({size:.1f} MB) "
            f"fetched, hash-checked and unpacked in {time.monotonic() - started:.2f} s")


# --- the install, whichever way ------------------------------------------------------------------


def install(directory: Path, python: Path) -> tuple[int, str]:
    """Make the venv and install the lock into it; (exit code, how it was done)."""
    version = runner_pip_version()
    if version is not None and version >= PIP_WITH_PYTHON_OPTION:
        try:
            return 0, install_directly(directory, python)
        except NotLikePip as reason:
            say(f"xctoken: pip installs the lock ({reason})")
        except Exception as error:  # noqa: BLE001 - any surprise: pip, with the same guarantees, instead
            # The type only: an index's URL or answer may carry a token.
            say(f"xctoken: pip installs the lock (the direct install failed: {type(error).__name__})")
        started = time.monotonic()
        create(directory, with_pip=False)
        made = time.monotonic()
        code = run_pip(pip_install([sys.executable, "-m", "pip", "--python", str(python)]))
        if code == 0:
            return 0, (f"venv {made - started:.2f} s (without pip), runner's pip {'.'.join(map(str, version))} "
                       f"installing into it {time.monotonic() - made:.2f} s")
        say(f"xctoken: the runner's pip could not install into the venv (exit {code}); "
            "trying again with a pip of the venv's own (ensurepip, a few seconds more)")
    elif version is None:
        say("xctoken: this Python has no pip of its own, so the venv gets one from ensurepip "
            "(a few seconds more than with the runner's pip)")
    else:
        say(f"xctoken: this Python's pip {'.'.join(map(str, version))} is older than 22.3 (no --python), so the "
            "venv gets one from ensurepip (a few seconds more)")
    started = time.monotonic()
    create(directory, with_pip=True)
    made = time.monotonic()
    code = run_pip(pip_install([str(python), "-m", "pip"]))
    return code, (f"venv with ensurepip {made - started:.2f} s, "
                  f"its own pip filling it {time.monotonic() - made:.2f} s")


def main() -> int:
    runner_temp = os.environ.get("RUNNER_TEMP", "")
    if not runner_temp:
        return fail("RUNNER_TEMP must be set: run this as a GitHub Actions step")
    lock = LOCK.read_bytes()
    tag = hashlib.sha256(lock + sys.version.encode()).hexdigest()[:16]
    directory = Path(runner_temp) / f"xctoken-venv-{tag}"
    python = venv_python(directory)
    ready = directory / ".xctoken-ready"
    if ready.is_file():
        say(f"xctoken: reusing {directory}")
    else:
        say(f"xctoken: installing the pinned dependencies into {directory}")
        code, how = install(directory, python)
        if code != 0:
            return fail(f"pip could not install requirements/runtime.txt (exit {code}); see the lines above")
        ready.write_text(tag)
        say(f"xctoken: dependencies ready: {how}")
    # Bytes: on Windows a text stdout would end the line with "\r\n", and bash's $(...) keeps the "\r".
    sys.stdout.buffer.write(os.fsencode(python.as_posix()) + b"\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
- The wheels are fetched and unpacked here (about 0.25 s), not by pip (1 to 1.5 s,
  most of it pip starting twice for ``--python`` and weighing every file the index
  lists). It does what pip does for a lock like ours, no more: every requirement is
  ``name==version`` with sha256 hashes, so choosing a wheel is picking, among the
  files whose listed hash the lock has, the one pip would (its name from the URL, as
  pip reads it; Requires-Python met; not yanked first; then the best tag for this
  interpreter, ranked by pip's own ``packaging``, vendored in the runner's pip). The
  bytes must hash to what the page listed for that file, the wheel's own WHEEL file
  must name a tag this interpreter takes, every path is checked before one is written,
  and it is unpacked as the wheel format says (no scripts: a private venv needs none).
  The result is the files pip writes, byte for byte, with pip's executable bits; only
  the installer's own notes (INSTALLER, RECORD) differ (a test holds it).
- Anything this does not know to be the same as pip (pip configured with other
  indexes, find-links, a proxy setting, credentials; an index that lists no hashes;
  a URL that is not https; a lock line with a marker; any failure at all) hands the
  install to the runner's pip (``pip --python VENV``, pip 22.3 or later) with the
  same guarantees (``--require-hashes --only-binary :all: --no-deps``), and the log
  says why. Only when the runner's Python has no such pip is the venv made with
  ``ensurepip``.
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
    from http.client import HTTPMessage
    from typing import IO

    from pip._vendor.packaging.tags import Tag

ACTION_ROOT = Path(__file__).resolve().parent.parent
LOCK = ACTION_ROOT / "requirements" / "runtime.txt"
PIP_WITH_PYTHON_OPTION = (22, 3)  # `pip --python` appeared in pip 22.3
INSTALLER = "xctoken-portable"    # the dist-info INSTALLER of what the direct install unpacks
DIRECT_INSTALL_SECONDS = 60       # past this the index is stalling or trickling: pip takes over

# pip settings that change nothing about which files are installed, or from where.
# Any other setting (extra-index-url, find-links, no-index, proxy, trusted-host,
# client-cert, constraint, ...) hands the install to pip, which knows what it means.
PIP_SETTINGS_KEPT = frozenset({
    "cert", "index-url", "timeout", "default-timeout", "retries", "disable-pip-version-check", "no-input",
    "no-cache-dir", "cache-dir", "progress-bar", "quiet", "verbose", "no-color", "root-user-action",
    "break-system-packages", "require-virtualenv", "no-python-version-warning", "no-warn-script-location",
    "only-binary", "prefer-binary", "no-compile", "log", "upgrade", "upgrade-strategy", "exists-action",
})
PIP_SECTIONS = ("global", "install")  # the sections pip's install command reads, in this order
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


def shown(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def quiet_env() -> dict[str, str]:
    # pip needs none of the step's inputs: the private key stays out of its environment.
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("INPUT_")}


def run_pip(argv: list[str]) -> int:
    """Run pip, its output on standard error, with workflow commands off meanwhile.

    pip prints text the index chose (a yanked file's reason, a project's name), and a line
    of it starting with ``::`` would be a workflow command; between these two lines the
    runner reads none (the token is random, so pip's output cannot end the pause).
    """
    import secrets

    pause = secrets.token_hex(16)
    say(f"::stop-commands::{pause}")
    try:
        return subprocess.run(argv, stdout=sys.stderr, env=quiet_env(), check=False).returncode
    finally:
        say(f"::{pause}::")


def create(directory: Path, with_pip: bool) -> None:
    if with_pip:
        # ensurepip runs in a child of its own: given the environment without the step's inputs.
        subprocess.run([sys.executable, "-I", "-m", "venv", "--clear", str(directory)], env=quiet_env(),
                       check=True, stdout=sys.stderr)
        return
    import venv

    venv.EnvBuilder(with_pip=False, clear=True).create(directory)


# --- installing directly: the lock, the index, the wheels ---------------------------------------


class NotLikePip(Exception):
    """The direct install cannot promise what pip would do here: pip installs instead."""


class Pin(NamedTuple):
    name: str               # normalized (PEP 503), as in the index's project URL
    version: str
    hashes: frozenset[str]  # sha256, hex


class IndexFile(NamedTuple):
    """A file a project's index page lists, as pip reads it."""

    filename: str           # the last segment of the URL's path (what pip takes tags from)
    url: str
    sha256: str             # as the page lists it, "" when it lists none
    requires_python: str
    yanked: bool


class Wheel(NamedTuple):
    pin: Pin
    data: bytes             # its sha256 is the page's for this file, and one of the lock's


_REQUIREMENT = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")
_UNSAFE_IN_PATH = re.compile(r'[\x00-\x1f\x7f:\\<>"|?*]')  # what no wheel needs, and Windows reads as special


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
    """The files pip's install command (run as ``pip --python VENV``) reads, lowest priority first.

    pip's order: global, user, then PIP_CONFIG_FILE. Not the site file (``sys.prefix``):
    ``pip --python`` runs under the new venv's prefix, where there is none.
    """
    from pip._internal.utils import appdirs  # the runner's pip: its own idea of where they are

    named = environ.get("PIP_CONFIG_FILE")
    if named == os.devnull:  # pip's way of reading no file at all
        return []
    basename = "pip.ini" if os.name == "nt" else "pip.conf"
    files = [os.path.join(path, basename) for path in appdirs.site_config_dirs("pip")]
    if not (named and os.path.exists(named)):  # a PIP_CONFIG_FILE that exists replaces the user's files
        files.append(os.path.join(os.path.expanduser("~"), "pip" if os.name == "nt" else ".pip", basename))
        files.append(os.path.join(appdirs.user_config_dir("pip"), basename))
    if named:
        files.append(named)
    return files


def pip_settings(environ: dict[str, str]) -> dict[str, str]:
    """pip's settings for its install command (names with dashes, lower case), in pip's order.

    Every file's [global], then every file's [install], then PIP_* variables; an empty value
    in a file unsets the setting, an empty variable counts for nothing, as in pip.
    """
    import configparser
    import locale

    sections: dict[str, dict[str, str]] = {section: {} for section in PIP_SECTIONS}
    for path in pip_config_files(environ):
        if not os.path.isfile(path):
            continue
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding=locale.getpreferredencoding(False))  # as pip reads it
        except (configparser.Error, UnicodeDecodeError) as error:
            raise NotLikePip(f"pip's configuration {path} could not be read ({type(error).__name__})") from None
        for section, values in sections.items():
            if parser.has_section(section):
                values.update((key.replace("_", "-").lower(), value) for key, value in parser.items(section))
    # An empty value in a later file unsets an earlier one; pip then skips what is empty.
    settings = {key: value for values in sections.values() for key, value in values.items() if value}
    for name, value in environ.items():
        if name.startswith("PIP_") and name not in ("PIP_CONFIG_FILE", "PIP_VERSION", "PIP_HELP") and value:
            settings[name[4:].replace("_", "-").lower()] = value
    return settings


def is_loopback(host: str | None) -> bool:
    return host in ("localhost", "127.0.0.1", "::1")


def index_and_tls(settings: dict[str, str], environ: dict[str, str],
                  pip_version: tuple[int, ...] = (24, 2)) -> tuple[str, object, float]:
    """The index URL, the TLS context and the timeout pip would use; NotLikePip where pip would do more."""
    import ssl
    import urllib.parse

    steering = sorted(set(settings) - PIP_SETTINGS_KEPT)
    # A proxy pip's HTTP library (requests) reads from the environment and urllib does not.
    steering += sorted(name for name in ("ALL_PROXY", "all_proxy") if environ.get(name))
    if steering:
        raise NotLikePip(f"pip is configured with {', '.join(steering)}")
    from pip._internal.models.index import PyPI  # the index the runner's pip uses by default

    index = settings.get("index-url", "").strip() or PyPI.simple_url
    parts = urllib.parse.urlsplit(index)
    secure = parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname))
    if len(index.split()) != 1 or "@" in parts.netloc or not secure:
        # pip reads http only from loopback, and credentials may need its keyring.
        raise NotLikePip("the index is not one https URL without credentials")

    def certifi_bundle() -> str:
        from pip._vendor import certifi  # pip's own bundle (Debian's pip points it at the system's)

        return str(certifi.where())

    # The CA bundle a user gave, as pip's requests picks it: these variables over pip's cert setting.
    bundle = environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or settings.get("cert") or ""
    if pip_version >= (24, 2):
        # pip's truststore context: the system's certificates, certifi's, and the bundle given.
        context = ssl.create_default_context()
        context.load_verify_locations(cafile=certifi_bundle())
        if bundle:
            context.load_verify_locations(cafile=bundle)
    else:
        # Older pips verify with requests alone: the bundle given, or else certifi's; nothing else.
        context = ssl.create_default_context(cafile=bundle or certifi_bundle())
    try:
        timeout = float(settings.get("timeout") or settings.get("default-timeout") or 15)
    except ValueError:
        raise NotLikePip("pip's timeout setting is not a number") from None
    # A stall costs this much before pip takes over (and waits its own timeout): kept short.
    return index.rstrip("/") + "/", context, min(timeout, 15.0)


def allowed_url(url: str, index: str) -> bool:
    """Only https, or http where the index itself is http on loopback (as pip reads an index)."""
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname)
                                       and index.startswith("http://"))


def opener_for(index: str, context: object) -> object:
    """An opener with HTTP(S) only (no file:, ftp: or data:), whose redirects stay allowed_url."""
    import urllib.request

    class Redirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                             headers: HTTPMessage, newurl: str) -> urllib.request.Request | None:
            if not allowed_url(newurl, index):
                raise NotLikePip("the index redirected to a URL that is not https")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.UnknownHandler(), urllib.request.ProxyHandler(), urllib.request.HTTPHandler(),
                    urllib.request.HTTPSHandler(context=context),  # type: ignore[arg-type]
                    Redirects(), urllib.request.HTTPDefaultErrorHandler(), urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener


class Index:
    """The index as the direct install reads it: http(s) only, every read bounded by the timeout,
    all of them by one deadline, and all of them stopped once one download has failed."""

    def __init__(self, url: str, context: object, timeout: float) -> None:
        import threading

        self.url, self.timeout = url, timeout
        self.deadline = time.monotonic() + DIRECT_INSTALL_SECONDS
        self.stopped = threading.Event()
        self.opener = opener_for(url, context)

    def read(self, target: object) -> tuple[bytes, str, str]:
        """(body, content type, final URL) of a URL or a Request."""
        chunks = []
        with self.opener.open(target, timeout=self.timeout) as response:  # type: ignore[attr-defined]
            while chunk := response.read(256 * 1024):
                self.go_on()
                chunks.append(chunk)
            return b"".join(chunks), response.headers.get_content_type(), response.geturl()

    def go_on(self) -> None:
        """NotLikePip once another download has failed or the deadline has passed."""
        if self.stopped.is_set():
            raise NotLikePip("stopped: another download failed")
        if time.monotonic() > self.deadline:
            raise NotLikePip(f"the index took more than {DIRECT_INSTALL_SECONDS} s")


def project_files(index: Index, name: str) -> list[IndexFile]:
    """The files the index lists for a project, from its JSON (PEP 691) or HTML (PEP 503) page."""
    import html.parser
    import json
    import urllib.parse
    import urllib.request

    # S310: index_and_tls let only https (or http to loopback) through, and the opener keeps to it.
    request = urllib.request.Request(f"{index.url}{name}/",  # noqa: S310
                                     headers={"Accept": f"{JSON_PAGE}, text/html;q=0.1"})
    body, kind, page = index.read(request)
    files: list[IndexFile] = []
    base = {"url": page}  # an HTML page's <base href> changes it, as pip reads the page

    def add(href: str, sha256: str, requires_python: str, yanked: bool) -> None:
        url = urllib.parse.urljoin(base["url"], href).partition("#")[0]
        filename = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
        files.append(IndexFile(filename, url, sha256, requires_python, yanked))

    if kind == JSON_PAGE:
        for entry in json.loads(body)["files"]:
            add(entry["url"], (entry.get("hashes") or {}).get("sha256", ""), entry.get("requires-python") or "",
                entry.get("yanked") not in (None, False))
        return files

    class Anchors(html.parser.HTMLParser):
        based = False

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found = dict(attrs)
            if tag == "base" and found.get("href") and not self.based:
                base["url"], self.based = urllib.parse.urljoin(page, found["href"] or ""), True
            elif tag == "a" and found.get("href"):
                fragment = (found["href"] or "").partition("#")[2]
                # A bare data-yanked (no value) is not yanked to pip; data-yanked="" is.
                add(found["href"] or "", fragment[len("sha256="):] if fragment.startswith("sha256=") else "",
                    found.get("data-requires-python") or "", found.get("data-yanked") is not None)

    Anchors().feed(body.decode("utf-8", "replace"))
    return files


def choose(pin: Pin, files: list[IndexFile], ranks: dict[Tag, int]) -> IndexFile:
    """The locked wheel pip would pick here: hash in the lock, Requires-Python met; then, as pip
    sorts them, not yanked before yanked, the best-ranked tag for this interpreter, the
    highest build number."""
    from pip._vendor.packaging.specifiers import InvalidSpecifier, SpecifierSet
    from pip._vendor.packaging.utils import InvalidWheelFilename, parse_wheel_filename

    python = ".".join(map(str, sys.version_info[:3]))
    best: tuple[tuple[bool, int, tuple[object, ...]], IndexFile] | None = None
    for file in files:
        if file.sha256 not in pin.hashes or not file.filename.endswith(".whl"):
            continue
        try:
            name, version, build, tags = parse_wheel_filename(file.filename)
        except (InvalidWheelFilename, ValueError):
            continue
        try:
            if file.requires_python and not SpecifierSet(file.requires_python).contains(python, prereleases=True):
                continue
        except InvalidSpecifier:
            pass  # pip, too, ignores a Requires-Python it cannot read
        if normalize(name) != pin.name or str(version) != pin.version:
            continue
        rank = min((ranks[tag] for tag in tags if tag in ranks), default=None)
        if rank is None:
            continue
        key = (not file.yanked, -rank, tuple(build))
        if best is None or key > best[0]:
            best = (key, file)
    if best is None:
        raise NotLikePip(f"the index lists no wheel of {pin.name} {pin.version} in the lock for this Python")
    return best[1]


def fetch(index: Index, pin: Pin, ranks: dict[Tag, int]) -> Wheel:
    chosen = choose(pin, project_files(index, pin.name), ranks)
    if not allowed_url(chosen.url, index.url):
        raise NotLikePip(f"the index lists {pin.name} {pin.version} at a URL that is not https")
    data = index.read(chosen.url)[0]
    # The hash the page gave for this very file (and so one of the lock's): not just any of the lock's.
    if hashlib.sha256(data).hexdigest() != chosen.sha256:
        raise NotLikePip(f"{pin.name} {pin.version} as downloaded does not match the lock's hashes")
    return Wheel(pin, data)


def unpack(wheel: Wheel, purelib: str, platlib: str, ranks: dict[Tag, int]) -> None:
    """Write a wheel's files into the venv (the binary distribution format's "spread" step)."""
    import io
    import shutil
    import stat
    import zipfile

    label = f"the wheel of {wheel.pin.name} {wheel.pin.version}"
    with zipfile.ZipFile(io.BytesIO(wheel.data)) as archive:
        entries = archive.infolist()
        roots = {info.filename.split("/", 1)[0] for info in entries}
        dist_info = [root for root in roots if root.endswith(".dist-info")]
        if len(dist_info) != 1 or normalize(dist_info[0].split("-", 1)[0]) != wheel.pin.name:
            raise NotLikePip(f"{label} has no .dist-info directory of its own")
        metadata = archive.read(f"{dist_info[0]}/WHEEL").decode("utf-8")
        if not re.search(r"^Wheel-Version: 1\.", metadata, re.MULTILINE):
            raise NotLikePip(f"{label} is not a version 1 wheel")
        from pip._vendor.packaging.tags import parse_tag

        declared = {tag for line in re.findall(r"^Tag: *(\S+)", metadata, re.MULTILINE) for tag in parse_tag(line)}
        if not declared & set(ranks):  # its WHEEL file, not only its name, must fit this interpreter
            raise NotLikePip(f"{label} is built for another platform or Python")
        root = purelib if re.search(r"^Root-Is-Purelib: true", metadata, re.MULTILINE | re.IGNORECASE) else platlib
        targets = []
        for info in entries:  # every path checked before the first is written
            if info.is_dir():
                continue
            parts = info.filename.split("/")
            if info.filename.startswith("/") or any(part in ("", ".", "..") or _UNSAFE_IN_PATH.search(part)
                                                    for part in parts):
                raise NotLikePip(f"{label} holds a path outside the venv")
            if parts[0].endswith(".data"):
                if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                    raise NotLikePip(f"{label} installs {parts[1]} files (pip writes those)")
                targets.append((info, os.path.join(purelib if parts[1] == "purelib" else platlib, *parts[2:])))
            else:
                targets.append((info, os.path.join(root, *parts)))
        for info, target in targets:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with archive.open(info) as source, open(target, "wb") as destination:
                shutil.copyfileobj(source, destination)
            mode = info.external_attr >> 16
            if stat.S_ISREG(mode) and mode & 0o111:  # executable in the wheel: executable here, as pip makes it
                os.chmod(target, os.stat(target).st_mode | 0o111)  # noqa: S103 - as pip: +x, umask kept
    record = os.path.join(root, dist_info[0])
    for note, text in (("INSTALLER", INSTALLER + "\n"), ("REQUESTED", "")):  # as pip notes a -r requirement
        with open(os.path.join(record, note), "w", encoding="utf-8", newline="") as written:
            written.write(text)
    with open(os.path.join(record, "RECORD"), "a+", encoding="utf-8", newline="") as listing:
        listing.seek(0)
        ends_with_newline = listing.read().endswith("\n")
        listing.write(("" if ends_with_newline else "\n") + f"{dist_info[0]}/INSTALLER,,\n{dist_info[0]}/REQUESTED,,\n")


def venv_site_packages(python: Path) -> tuple[str, str]:
    """Where the venv's interpreter looks for packages (purelib, platlib), as pip --python asks it."""
    probe = "import sysconfig; print(sysconfig.get_path('purelib')); print(sysconfig.get_path('platlib'))"
    result = subprocess.run([str(python), "-I", "-c", probe], capture_output=True, text=True, check=False,
                            env=quiet_env())
    paths = result.stdout.splitlines()
    if result.returncode != 0 or len(paths) != 2:
        raise NotLikePip("the venv's interpreter did not say where its packages go")
    return paths[0], paths[1]


def install_directly(directory: Path, python: Path, pip_version: tuple[int, ...]) -> str:
    """Fill the venv with the lock's wheels, fetched in parallel; how it went, or NotLikePip."""
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    try:
        from pip._vendor.packaging import tags
    except ImportError:
        raise NotLikePip("the runner's pip has no packaging to rank wheel tags with") from None
    pins = read_lock(LOCK.read_text(encoding="utf-8"))
    environ = dict(os.environ)
    index = Index(*index_and_tls(pip_settings(environ), environ, pip_version))
    ranks = {tag: rank for rank, tag in enumerate(tags.sys_tags())}  # this interpreter's, best first
    started = time.monotonic()
    made = started

    def make_venv() -> tuple[str, str]:
        nonlocal made
        create(directory, with_pip=False)
        made = time.monotonic()
        return venv_site_packages(python)

    def fetch_and_unpack(pin: Pin) -> Wheel:
        wheel = fetch(index, pin, ranks)
        purelib, platlib = layout.result()
        index.go_on()
        unpack(wheel, purelib, platlib, ranks)  # each wheel unpacked as it arrives, into the new venv
        return wheel

    # The venv first (a worker of its own), so no fetch can wait for a job that never starts.
    with ThreadPoolExecutor(max_workers=len(pins) + 1) as pool:
        layout = pool.submit(make_venv)
        jobs = [pool.submit(fetch_and_unpack, pin) for pin in pins]
        done, _ = wait(jobs, return_when=FIRST_EXCEPTION)
        failed = [job for job in done if job.exception() is not None]
        if failed:
            # The others stop at their next read (within the timeout); leaving this block waits
            # for them, so nothing writes into the venv once pip's install has begun.
            index.stopped.set()
            raise failed[0].exception()  # type: ignore[misc]
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
            return 0, install_directly(directory, python, version)
        except NotLikePip as reason:
            say(f"xctoken: pip installs the lock ({reason})")
        except Exception as error:  # noqa: BLE001 - any surprise: pip, with the same guarantees, instead
            # The type only: an index's URL or answer may carry a token.
            say(f"xctoken: pip installs the lock (the direct install failed: {type(error).__name__})")
        started = time.monotonic()
        create(directory, with_pip=False)
        made = time.monotonic()
        code = run_pip(pip_install([sys.executable, "-I", "-m", "pip", "--python", str(python)]))
        if code == 0:
            return 0, (f"venv {made - started:.2f} s (without pip), runner's pip {shown(version)} "
                       f"installing into it {time.monotonic() - made:.2f} s")
        say(f"xctoken: the runner's pip could not install into the venv (exit {code}); "
            "trying again with a pip of the venv's own (ensurepip, a few seconds more)")
    elif version is None:
        say("xctoken: this Python has no pip of its own, so the venv gets one from ensurepip "
            "(a few seconds more than with the runner's pip)")
    else:
        say(f"xctoken: this Python's pip {shown(version)} is older than 22.3 (no --python), so the "
            "venv gets one from ensurepip (a few seconds more)")
    started = time.monotonic()
    try:
        create(directory, with_pip=True)
    except subprocess.CalledProcessError as error:
        say(f"xctoken: python -m venv could not make the venv with ensurepip (exit {error.returncode}); "
            "install a Python with venv and pip (actions/setup-python) before this step")
        return error.returncode or 1, "no venv"
    made = time.monotonic()
    code = run_pip(pip_install([str(python), "-I", "-m", "pip"]))
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
            return fail(f"the pinned dependencies (requirements/runtime.txt) could not be installed (exit {code}); "
                        "see the lines above")
        ready.write_text(tag)
        say(f"xctoken: dependencies ready: {how}")
    # Bytes: on Windows a text stdout would end the line with "\r\n", and bash's $(...) keeps the "\r".
    sys.stdout.buffer.write(os.fsencode(python.as_posix()) + b"\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

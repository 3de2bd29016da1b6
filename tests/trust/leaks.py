"""The leak scanner: every byte an xctoken run wrote, checked for a canary key and its token.

A run is recorded as a :class:`Capture`: its stdout and stderr, every file it
created or changed under the directories the test watches, and the argv (and,
separately, the stdin) of every helper program it spawned, recorded by
stand-ins put first on PATH (:func:`install_standins`).

What counts as a leak
---------------------
Key material (:class:`Canary`): any PEM body line, any 16-character run of the
base64 body of the PKCS#8 or SEC1 PEM, of the one-line base64 of the whole
.p8 file, of those in base64url, of the DER in hex (either case), and of the
private scalar in hex or base64url (a JWK ``d``). PEM armor lines
(``-----BEGIN PRIVATE KEY-----``) are public text and never count.

- Forbidden in stderr, in every file the run wrote, in every spawned argv and
  every stdin given to a spawned program.
- Allowed on stdout and stderr only inside a GitHub ``::add-mask::`` command
  line, and only when the test says the run is a GitHub one (``github=True``):
  that line is how the runner learns what to hide (it reads workflow commands
  on both streams), and the runner never prints it.
- Allowed in the files named in ``key_allowed_in`` (a key file the tool was
  asked to write for another program).

Tokens: every JWT-looking string found anywhere in the capture that verifies
with the canary's public key (checked with cryptography's ECDSA directly on
the raw R||S, not with xctoken's code) is a token of this run. Its whole text
and every 16-character run of its signature segment are searched for.

- Never in stderr (but for its own ``::add-mask::`` line with ``github=True``),
  never in an argv, never in a GitHub job summary file.
- On stdout: only when ``token_on_stdout`` (an explicit ``generate`` outside
  CI, or a Buildkite capture), or, with ``github=True``, after its own
  ``::add-mask::`` line (on stdout, that line must be the token's first
  appearance there; a plain ``generate`` on GitHub sends it on stderr, before
  printing the token on stdout).
- In a file only when the file is in ``token_allowed_in`` (``--output``, a
  dotenv report, $BASH_ENV, $CM_ENV, GITHUB_ENV/GITHUB_OUTPUT). For a GitHub
  file command the ``::add-mask::`` line must also be on stdout.
- In a helper's stdin only when the helper is in ``token_stdin_ok``
  (``envman``, ``buildkite-agent``: stdin is how they take a secret).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import apple_layout_der, pem_text
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

RUN = 16
_JWT = re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{40,}")
_ARMOR = re.compile(r"-----(BEGIN|END) [A-Z0-9 ]+-----")
ADD_MASK = b"::add-mask::"


def _windows(text: str, size: int = RUN) -> set[str]:
    return {text[i:i + size] for i in range(len(text) - size + 1)}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class Canary:
    """A fresh key made for one test (P-256 unless told), and everything that would betray it.

    Its PKCS#8 is Apple's layout by default (``layout="apple"``: the inner
    ECPrivateKey keeps its curve parameters, as in the .p8 files users have);
    ``layout="openssl"`` renders it as cryptography writes it. Both layouts'
    renderings count as leaks whichever is used.
    """

    private_key: Any = field(repr=False)
    layout: str = "apple"

    @classmethod
    def new(cls, layout: str = "apple") -> Canary:
        return cls(ec.generate_private_key(ec.SECP256R1()), layout)

    def _apple(self, fmt: serialization.PrivateFormat) -> bool:
        return (fmt == serialization.PrivateFormat.PKCS8 and self.layout == "apple"
                and isinstance(self.private_key, ec.EllipticCurvePrivateKey))

    def pem(self, fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8) -> str:
        if self._apple(fmt):
            return pem_text(apple_layout_der(self.private_key))
        return self.private_key.private_bytes(serialization.Encoding.PEM, fmt,
                                              serialization.NoEncryption()).decode("ascii")

    def der(self, fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8) -> bytes:
        if self._apple(fmt):
            return apple_layout_der(self.private_key)
        return self.private_key.private_bytes(serialization.Encoding.DER, fmt, serialization.NoEncryption())

    def renderings(self) -> list[tuple[str, bytes]]:
        """(PEM, DER) of every layout this key can be stored in."""
        found = []
        for layout in ("apple", "openssl"):
            for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
                other = Canary(self.private_key, layout)
                try:
                    found.append((other.pem(fmt), other.der(fmt)))
                except ValueError:  # Ed25519 has no "traditional" form
                    continue
        return list(dict.fromkeys(found))

    @property
    def public_key(self) -> Any:
        return self.private_key.public_key()

    def fragments(self) -> frozenset[bytes]:
        """Every byte string whose presence in output means the key leaked."""
        renderings: list[str] = []
        lines: list[str] = []
        for pem, der in self.renderings():
            body = "".join(line for line in pem.splitlines() if not _ARMOR.fullmatch(line))
            lines += [line for line in pem.splitlines() if line and not _ARMOR.fullmatch(line)]
            renderings += [body, _b64url(der), _b64(pem.encode()), _b64(pem.encode().rstrip(b"\n")),
                           _b64url(pem.encode()), der.hex(), der.hex().upper()]
        if isinstance(self.private_key, ec.EllipticCurvePrivateKey):
            size = (self.private_key.curve.key_size + 7) // 8
            scalar = self.private_key.private_numbers().private_value.to_bytes(size, "big")
            renderings += [scalar.hex(), scalar.hex().upper(), _b64url(scalar), _b64(scalar)]
        found: set[str] = set(lines)
        for text in renderings:
            found |= _windows(text)
        return frozenset(s.encode("ascii") for s in found)

    def verifies(self, token: bytes) -> bool:
        """Does this compact JWS carry a valid ES256 signature by the canary? (independent of xctoken)"""
        try:
            head, payload, signature = token.split(b".")
            raw = base64.urlsafe_b64decode(signature + b"=" * (-len(signature) % 4))
        except ValueError:
            return False
        if len(raw) != 64 or not isinstance(self.public_key, ec.EllipticCurvePublicKey):
            return False
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        try:
            self.public_key.verify(der, head + b"." + payload, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


@dataclass
class Capture:
    """Everything one run wrote, as bytes."""

    stdout: bytes = b""
    stderr: bytes = b""
    returncode: int | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # created or changed, by path
    argvs: list[list[str]] = field(default_factory=list)  # of spawned helpers (argv[0] = name)
    stdins: list[tuple[str, bytes]] = field(default_factory=list)  # (helper name, its stdin)
    extra: dict[str, bytes] = field(default_factory=dict)  # anything else shown (an exception's repr)

    def sources(self) -> Iterable[tuple[str, bytes]]:
        yield "stdout", self.stdout
        yield "stderr", self.stderr
        for path, data in self.files.items():
            yield f"file {path}", data
        for argv in self.argvs:
            yield f"argv of {argv[0]}", "\0".join(argv).encode("utf-8", "surrogateescape")
        for name, data in self.stdins:
            yield f"stdin of {name}", data
        for label, data in self.extra.items():
            yield label, data

    def tokens(self, canary: Canary) -> set[bytes]:
        """The tokens signed by the canary that appear anywhere in this capture."""
        found: set[bytes] = set()
        for _, data in self.sources():
            for match in _JWT.finditer(data):
                if canary.verifies(match.group(0)):
                    found.add(match.group(0))
        return found


def _token_fragments(token: bytes) -> set[bytes]:
    signature = token.rsplit(b".", 1)[1].decode("ascii")
    return {token} | {w.encode() for w in _windows(signature)}


def _first(data: bytes, needles: Iterable[bytes]) -> int:
    positions = [data.find(n) for n in needles]
    positions = [p for p in positions if p >= 0]
    return min(positions) if positions else -1


def _contains_any(data: bytes, needles: Iterable[bytes]) -> bytes | None:
    for needle in needles:
        if needle in data:
            return needle
    return None


_AZURE_SECRET = "##vso[task.setsecret]"


def registered_masks(*streams: bytes) -> list[str]:
    """The values a runner would mask after reading these streams.

    GitHub's ``::add-mask::`` (escaped %25 %0D %0A) and Azure's
    ``##vso[task.setsecret]`` (escaped %AZP25 %0D %0A) lines; a multi-line value
    is masked line by line as well, as both runners do.
    """
    masks: list[str] = []
    for stream in streams:
        for line in stream.decode("utf-8", "replace").split("\n"):
            line = line.strip()
            for prefix, percent in ((ADD_MASK.decode(), "%25"), (_AZURE_SECRET, "%AZP25")):
                if line.startswith(prefix):
                    value = line[len(prefix):].replace("%0D", "\r").replace("%0A", "\n").replace(percent, "%")
                    masks += [value, *(part for part in re.split(r"[\r\n]+", value) if part)]
    return masks


def as_the_runner_shows(text: str, masks: Iterable[str]) -> str:
    """``text`` with every registered mask replaced by ``***``, longest first, as the runner's masker does."""
    for mask in sorted(set(masks), key=len, reverse=True):
        if mask:
            text = text.replace(mask, "***")
    return text


def unmasked_key_material(text: str, masks: Iterable[str], canary: Canary) -> list[str]:
    """Key fragments still readable in ``text`` (a later step printing the key) once the masks apply."""
    shown = as_the_runner_shows(text, masks).encode()
    return sorted(fragment.decode() for fragment in canary.fragments() if fragment in shown)


def _without_mask_lines(data: bytes) -> bytes:
    return b"\n".join(line for line in data.split(b"\n") if not line.lstrip().startswith(ADD_MASK))


def find_leaks(capture: Capture, canary: Canary, *, github: bool = False, token_on_stdout: bool = False,
               token_allowed_in: Iterable[str | os.PathLike[str]] = (),
               key_allowed_in: Iterable[str | os.PathLike[str]] = (),
               token_stdin_ok: Iterable[str] = (), summary_files: Iterable[str | os.PathLike[str]] = (),
               extra_tokens: Iterable[bytes] = ()) -> list[str]:
    """Every rule of the module docstring that ``capture`` breaks, as readable lines (empty = clean)."""
    problems: list[str] = []
    key_fragments = canary.fragments()
    token_files = {str(p) for p in token_allowed_in}
    key_files = {str(p) for p in key_allowed_in}
    summaries = {str(p) for p in summary_files}
    stdin_ok = set(token_stdin_ok)

    # Key material.
    for label, data in capture.sources():
        if label.startswith("file ") and label[5:] in key_files:
            continue
        if label in ("stdout", "stderr") and github:
            data = _without_mask_lines(data)
        hit = _contains_any(data, key_fragments)
        if hit is not None:
            problems.append(f"key material in {label}: {hit[:6].decode(errors='replace')}...")

    # Tokens.
    for token in capture.tokens(canary) | set(extra_tokens):
        pieces = _token_fragments(token)
        mask_line = ADD_MASK + token
        masked_first = False
        if github:
            first_mask = capture.stdout.find(mask_line)
            first_any = _first(capture.stdout, pieces)
            masked_first = first_mask >= 0 and first_mask + len(ADD_MASK) == first_any
        masked_on_stderr = github and mask_line in capture.stderr.split(b"\n")
        for label, data in capture.sources():
            if label == "stderr" and github:
                data = _without_mask_lines(data)
            hit = _contains_any(data, pieces)
            if hit is None:
                continue
            if label == "stdout":
                # On GitHub a token printed on purpose must have been masked first.
                if masked_first or (token_on_stdout and (masked_on_stderr or not github)):
                    continue
                problems.append("token on stdout" + (" before (or without) its ::add-mask:: line"
                                                     if github else ""))
            elif label.startswith("file "):
                path = label[5:]
                if path in summaries:
                    problems.append(f"token in the job summary {path}")
                elif path not in token_files:
                    problems.append(f"token in {label}, which is not where it was meant to go")
                elif github and not (masked_first or masked_on_stderr):
                    problems.append(f"token in {label} without an ::add-mask:: for it first on stdout")
            elif label.startswith("stdin of ") and label[9:] in stdin_ok:
                continue
            else:
                problems.append(f"token in {label}")
    return problems


# ---------------------------------------------------------------------------
# Recording what a run wrote


def snapshot(*roots: Path) -> dict[str, str]:
    """Path -> content hash of every regular file under ``roots`` (to tell what a run wrote)."""
    seen: dict[str, str] = {}
    for root in roots:
        for path in _walk(root):
            seen[str(path)] = _digest(path)
    return seen


def _walk(root: Path) -> Iterable[Path]:
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            try:
                if stat.S_ISREG(path.lstat().st_mode):
                    yield path
            except OSError:
                continue


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def written_since(before: Mapping[str, str], *roots: Path) -> dict[str, bytes]:
    """The files under ``roots`` that are new or changed since ``before``, with their content."""
    changed: dict[str, bytes] = {}
    for root in roots:
        for path in _walk(root):
            if before.get(str(path)) != _digest(path):
                try:
                    changed[str(path)] = path.read_bytes()
                except OSError:
                    changed[str(path)] = b""
    return changed


STANDIN = textwrap.dedent("""\
    #!{python}
    # A stand-in for a CI helper program: records its argv and stdin, then succeeds.
    import json, os, sys
    log = {log!r}
    data = sys.stdin.buffer.read() if not sys.stdin.isatty() else b""
    with open(log, "a", encoding="utf-8") as out:
        out.write(json.dumps({{"argv": [os.path.basename(sys.argv[0])] + sys.argv[1:],
                               "stdin": data.decode("utf-8", "surrogateescape")}}) + "\\n")
    sys.exit(int(os.environ.get("STANDIN_EXIT", "0")))
    """)
HELPERS = ("envman", "buildkite-agent")


def install_standins(bin_dir: Path, log: Path, python: str, names: Iterable[str] = HELPERS) -> None:
    """Put recording stand-ins for the CI helper programs in ``bin_dir``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = bin_dir / name
        path.write_text(STANDIN.format(python=python, log=str(log)))
        path.chmod(0o755)


def read_standin_log(log: Path) -> tuple[list[list[str]], list[tuple[str, bytes]]]:
    argvs: list[list[str]] = []
    stdins: list[tuple[str, bytes]] = []
    if not log.exists():
        return argvs, stdins
    for line in log.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        argvs.append(entry["argv"])
        stdins.append((entry["argv"][0], entry["stdin"].encode("utf-8", "surrogateescape")))
    return argvs, stdins

"""Read back what an action wrote, by the GitHub runner's rules (actions/runner).

Independent of xctoken and actions-toolkit: this follows the runner's own
parser (FileCommandManager) and its command parser (ActionCommand), so a record
the runner would misread fails here too.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jwcrypto import jwk
from jwcrypto import jwt as jwcrypto_jwt


class RunnerParseError(AssertionError):
    pass


def _read_line(text: str, index: int, windows: bool) -> tuple[str | None, int, str | None]:
    """The runner's ReadLine: LF ends a line; CRLF too, but only on Windows runners."""
    if index >= len(text):
        return None, index, None
    lf = text.find("\n", index)
    if lf < 0:
        return text[index:], len(text), None
    if windows:
        crlf = text.find("\r\n", index)
        if 0 <= crlf < lf:
            return text[index:crlf], crlf + 2, "\r\n"
    return text[index:lf], lf + 1, "\n"


def parse_file_commands(text: str, windows: bool = False) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV content -> {name: value}, later records winning."""
    result: dict[str, str] = {}
    line, index, _ = _read_line(text, 0, windows)
    while line is not None:
        if line:
            eq, heredoc = line.find("="), line.find("<<")
            if eq >= 0 and (heredoc < 0 or eq < heredoc):
                key, value = line.split("=", 1)
            elif heredoc >= 0:
                key, delimiter = line.split("<<", 1)
                if not key or not delimiter:
                    raise RunnerParseError(f"invalid heredoc line {line!r}")
                start = end = index
                temp, index, newline = _read_line(text, index, windows)
                while temp != delimiter:
                    if temp is None:
                        raise RunnerParseError(f"matching delimiter not found for {key}")
                    if newline is None:
                        raise RunnerParseError("EOF marker missing new line")
                    end = index - len(newline)
                    temp, index, newline = _read_line(text, index, windows)
                value = text[start:end] if end > start else ""
            else:
                raise RunnerParseError(f"invalid format {line!r}")
            if not key:
                raise RunnerParseError("empty name")
            result[key] = value
        line, index, _ = _read_line(text, index, windows)
    return result


@dataclass(frozen=True)
class WorkflowCommand:
    command: str
    properties: dict[str, str]
    data: str
    line_number: int


_COMMAND = re.compile(r"^::([A-Za-z0-9_-]+)( [^:]*)?::(.*)$")


def _unescape(value: str, is_property: bool) -> str:
    pairs = [("%0D", "\r"), ("%0A", "\n")]
    if is_property:
        pairs += [("%3A", ":"), ("%2C", ",")]
    for escaped, plain in pairs:
        value = value.replace(escaped, plain)
    return value.replace("%25", "%")


def parse_workflow_commands(stdout: str) -> list[WorkflowCommand]:
    """Every ``::name props::data`` line, as the runner sees them (leading whitespace trimmed)."""
    found = []
    for number, raw in enumerate(stdout.split("\n")):
        match = _COMMAND.match(raw.strip())
        if not match:
            continue
        props: dict[str, str] = {}
        for pair in (match.group(2) or "").strip().split(","):
            if "=" in pair:
                k, v = pair.split("=", 1)
                props[k] = _unescape(v, True)
        found.append(WorkflowCommand(match.group(1), props, _unescape(match.group(3), False), number))
    return found


def first_appearance(stdout: str, secret: str) -> int | None:
    for number, line in enumerate(stdout.split("\n")):
        if secret in line:
            return number
    return None


# -- independent token checks --------------------------------------------------


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def verify_with_jwcrypto(token: str, public_key: ec.EllipticCurvePublicKey) -> dict[str, object]:
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    key = jwk.JWK.from_pem(pem)
    checked = jwcrypto_jwt.JWT(jwt=token, key=key, algs=["ES256"], check_claims={})
    return json.loads(checked.claims)


def verify_with_openssl(token: str, public_key: ec.EllipticCurvePublicKey, workdir: Path) -> None:
    """openssl dgst -verify on the signature converted from JOSE's raw R||S to DER."""
    header, payload, signature = token.split(".")
    raw = _b64url_decode(signature)
    if len(raw) != 64:
        raise AssertionError(f"ES256 signature must be 64 raw bytes, got {len(raw)}")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    (workdir / "sig.der").write_bytes(der)
    (workdir / "input.txt").write_bytes(f"{header}.{payload}".encode())
    (workdir / "pub.pem").write_bytes(public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    result = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(workdir / "pub.pem"),
                             "-signature", str(workdir / "sig.der"), str(workdir / "input.txt")],
                            capture_output=True, text=True)
    if result.returncode != 0 or "Verified OK" not in result.stdout:
        raise AssertionError(f"openssl did not verify the token: {result.stdout} {result.stderr}")


def token_header(token: str) -> dict[str, object]:
    return json.loads(_b64url_decode(token.split(".")[0]))



"""The hostile corpus: bad inputs for every entry point, each with the documented outcome.

A case names the setting it poisons (``field``), builds its value from the
run's canary key (so a truncated or corrupted copy of the canary that gets
echoed is caught by the leak scanner), and says which exit code the README
documents for it (3 configuration, 4 private key, 7 output). Entry points (the CLI with
a key file, with ASC_* variables, with stdin, the library, the GitHub action)
decide how a field reaches the tool; a value an entry point cannot carry (a
NUL byte in an environment variable, 1 MB in one execve string) is reported
as not representable there, never silently changed.

A few "mangled but valid" cases (``GOOD_CASES``) must succeed: a hostile
matrix that only ever expects failure could pass with a tool that refuses
everything.
"""

from __future__ import annotations

import base64
import datetime
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from .leaks import Canary

CONFIG, KEY = 3, 4
GOOD_KEY_ID = "2X9R4HXF34"
GOOD_ISSUER = "57246542-96fe-1a63-e053-0824d011072a"
# Linux refuses a single argv or environment string over 128 KiB (MAX_ARG_STRLEN).
MAX_ARG_STRLEN = 128 * 1024

Value = bytes | str | list[str]


@dataclass(frozen=True)
class Case:
    """One hostile input: ``field`` gets ``build(canary)``, everything else is valid."""

    id: str
    field: str  # key | key_id | issuer_id | lifetime | scope | export_name | output_path
    build: Callable[[Canary], Value]
    exit_code: int
    # A word the one error line must contain (case-insensitive): is it about the right thing?
    # "{via}" stands for the option or variable the entry point passes output_path through.
    mentions: str
    others: dict[str, Value] = field(default_factory=dict)  # other settings this case needs (e.g. lifetime)
    # Extra keys whose material must not show either (the RSA key given as the key, ...).
    extra_secrets: Callable[[Canary], list[Canary]] = lambda canary: []
    github_only: bool = False  # a rule of GitHub's runner (GITHUB_* names), not of every CI
    # Entry points where this input means something else by design: name -> why (the case is skipped).
    not_for: dict[str, str] = field(default_factory=dict)
    # Entry points that document another exit code for this input: name -> code.
    exit_for: dict[str, int] = field(default_factory=dict)

    def exit_code_for(self, entry: str) -> int:
        return self.exit_for.get(entry, self.exit_code)


def _pem_bytes(key: object, fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())  # type: ignore[attr-defined]


@functools.cache
def other_key(kind: str) -> object:
    """Keys of the wrong kind, made once per test session (RSA is slow to make)."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    curves = {"p384": ec.SECP384R1(), "p521": ec.SECP521R1(), "secp256k1": ec.SECP256K1()}
    return ec.generate_private_key(curves[kind])


def _certificate(canary: Canary) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xctoken canary")])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(canary.public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(canary.private_key, hashes.SHA256()))


def _pem_lines(canary: Canary) -> list[str]:
    return canary.pem().strip().split("\n")


def _truncated(canary: Canary) -> str:
    text = canary.pem()
    return text[: len(text) // 2]


def _no_end(canary: Canary) -> str:
    return "\n".join(_pem_lines(canary)[:-1]) + "\n"


def _rewrapped_truncated(canary: Canary) -> str:
    lines = _pem_lines(canary)
    body = "".join(lines[1:-1])[:-20]
    return lines[0] + "\n" + "\n".join(body[i:i + 76] for i in range(0, len(body), 76)) + "\n" + lines[-1] + "\n"


def _flipped(canary: Canary) -> str:
    # Valid base64, broken DER: change the body's first characters (the SEQUENCE header).
    lines = _pem_lines(canary)
    lines[1] = "QUFB" + lines[1][4:]
    return "\n".join(lines) + "\n"


def _bad_char(canary: Canary) -> str:
    lines = _pem_lines(canary)
    lines[2] = lines[2][:10] + "!*" + lines[2][12:]
    return "\n".join(lines) + "\n"


def _swapped_body(canary: Canary) -> str:
    # The armor of a private key around a public key's body.
    public = canary.public_key.public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    body = base64.b64encode(public).decode()
    return "-----BEGIN PRIVATE KEY-----\n" + body + "\n-----END PRIVATE KEY-----\n"


def _encrypted(canary: Canary) -> bytes:
    return canary.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.BestAvailableEncryption(b"hunter2"))


def _public(canary: Canary) -> bytes:
    return canary.public_key.public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)


def _public_der_b64(canary: Canary) -> str:
    return base64.b64encode(canary.public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


def _cert_pem(canary: Canary) -> bytes:
    return _certificate(canary).public_bytes(serialization.Encoding.PEM)


def _pkcs12(canary: Canary) -> bytes:
    # Unencrypted, so the canary's key is inside in clear: echoing any of it is a leak.
    return pkcs12.serialize_key_and_certificates(b"canary", canary.private_key, _certificate(canary), None,
                                                 serialization.NoEncryption())


def _pkcs12_b64(canary: Canary) -> str:
    return base64.b64encode(_pkcs12(canary)).decode()


def _body_without_slashes(canary: Canary) -> str:
    # The key's body on one line with no '/': as a path it names a file in the working
    # directory, which would be created (named after the key) and named in the success line.
    return "".join(_pem_lines(canary)[1:-1]).replace("/", "A")


def _nul_inside(canary: Canary) -> bytes:
    pem = canary.pem().encode()
    return pem[:40] + b"\x00" + pem[40:]


def _non_utf8(canary: Canary) -> bytes:
    pem = canary.pem().encode()
    return pem[:40] + b"\xff\xfe\xc3" + pem[40:]


def _padded(size: int) -> Callable[[Canary], str]:
    # The canary PEM buried in a huge value: an error must not quote the value.
    return lambda canary: canary.pem() + "A" * (size - len(canary.pem()))


def _random(size: int) -> bytes:
    # Random, but without NUL (which has a case of its own and cannot travel in env or argv).
    return os.urandom(size).replace(b"\x00", b"\x01")


def _secret(kind: str) -> Callable[[Canary], list[Canary]]:
    return lambda canary: [Canary(other_key(kind))]


def _other_pem(kind: str, fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8
               ) -> Callable[[Canary], bytes]:
    return lambda canary: _pem_bytes(other_key(kind), fmt)


_LONG = {"lifetime": "1h"}
# An action input left empty is "not set": the private-key input then is a missing
# setting (exit 3, "set exactly one of private-key and private-key-path"), and an
# empty lifetime or scope input means the default, as for every GitHub action input.
_ACTION_MISSING = {"action": CONFIG}
_ACTION_EMPTY_IS_DEFAULT = {"action": "an empty action input means the input's default"}
_ACTION_SCOPE_LINES = {"action": "the scope input takes one entry per line, so two lines are two entries"}
# A CI's own file variable left empty means "not inside that CI": the token cannot be delivered (7).
# An empty --output or --dotenv is a configuration error (3): taken as "not given", it would print the token.
_CI_FILE_UNSET = {"cli-env-github": 7, "cli-circleci": 7, "cli-codemagic": 7, "action": 7}

BAD_CASES: list[Case] = [
    # --- the private key (exit 4)
    Case("key-empty", "key", lambda c: "", KEY, "key", exit_for=_ACTION_MISSING),
    Case("key-whitespace", "key", lambda c: " \n\t \n", KEY, "key", exit_for=_ACTION_MISSING),
    Case("key-truncated-half", "key", _truncated, KEY, "key"),
    Case("key-no-end-line", "key", _no_end, KEY, "key"),
    Case("key-rewrapped-and-truncated", "key", _rewrapped_truncated, KEY, "key"),
    Case("key-corrupted-der", "key", _flipped, KEY, "key"),
    Case("key-bad-base64-char", "key", _bad_char, KEY, "key"),
    Case("key-public-body-in-private-armor", "key", _swapped_body, KEY, "key"),
    Case("key-only-armor", "key", lambda c: "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n", KEY, "key"),
    Case("key-end-without-begin", "key", lambda c: "\n".join(_pem_lines(c)[1:]), KEY, "key"),
    Case("key-rsa-pkcs8", "key", _other_pem("rsa"), KEY, "RSA", extra_secrets=_secret("rsa")),
    Case("key-rsa-traditional", "key", _other_pem("rsa", serialization.PrivateFormat.TraditionalOpenSSL),
         KEY, "RSA", extra_secrets=_secret("rsa")),
    Case("key-ed25519", "key", _other_pem("ed25519"), KEY, "Ed25519", extra_secrets=_secret("ed25519")),
    Case("key-ed25519-openssh", "key", lambda c: other_key("ed25519").private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()),
         KEY, "OpenSSH", extra_secrets=_secret("ed25519")),
    Case("key-p384", "key", _other_pem("p384"), KEY, "P-256", extra_secrets=_secret("p384")),
    Case("key-p521", "key", _other_pem("p521"), KEY, "P-256", extra_secrets=_secret("p521")),
    Case("key-secp256k1", "key", _other_pem("secp256k1"), KEY, "P-256", extra_secrets=_secret("secp256k1")),
    Case("key-encrypted-pkcs8", "key", _encrypted, KEY, "encrypted"),
    Case("key-public-pem", "key", _public, KEY, "public"),
    Case("key-public-der-base64", "key", _public_der_b64, KEY, "public"),
    Case("key-certificate", "key", _cert_pem, KEY, "certificate"),
    Case("key-pkcs12-bytes", "key", _pkcs12, KEY, "PKCS#12"),
    Case("key-pkcs12-base64", "key", _pkcs12_b64, KEY, "PKCS#12"),
    Case("key-random-binary", "key", lambda c: b"\x30" + _random(255), KEY, "key"),
    Case("key-random-bytes-no-der", "key", lambda c: b"\x8f" + _random(255), KEY, "key"),
    Case("key-non-utf8", "key", _non_utf8, KEY, "key"),
    Case("key-nul-bytes", "key", _nul_inside, KEY, "key"),
    Case("key-1mb", "key", _padded(1024 * 1024), KEY, "key"),
    Case("key-100kb", "key", _padded(100 * 1024), KEY, "key"),
    Case("key-bad-base64", "key", lambda c: "!!not*base64??" * 4, KEY, "key"),
    Case("key-base64-of-garbage", "key", lambda c: base64.b64encode(os.urandom(180)).decode(), KEY, "key"),
    Case("key-ec-parameters-only", "key", lambda c: "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n"
         "-----END EC PARAMETERS-----\n", KEY, "key"),
    # --- the key ID (exit 3)
    Case("key-id-empty", "key_id", lambda c: "", CONFIG, "key ID"),
    Case("key-id-spaces-only", "key_id", lambda c: "   ", CONFIG, "key ID"),
    Case("key-id-too-short", "key_id", lambda c: "2X9R4HXF3", CONFIG, "key ID"),
    Case("key-id-too-long", "key_id", lambda c: "2X9R4HXF345", CONFIG, "key ID"),
    Case("key-id-lower-case", "key_id", lambda c: "2x9r4hxf34", CONFIG, "key ID"),
    Case("key-id-inner-space", "key_id", lambda c: "2X9R4 HXF3", CONFIG, "key ID"),
    Case("key-id-unicode", "key_id", lambda c: "２X9R4HXF34", CONFIG, "key ID"),
    Case("key-id-path-traversal", "key_id", lambda c: "../../../x", CONFIG, "key ID"),
    Case("key-id-newline-command", "key_id", lambda c: "2X9R4HXF34\n::error::injected", CONFIG, "key ID"),
    Case("key-id-is-the-key", "key_id", lambda c: c.pem(), CONFIG, "key ID"),
    # --- the issuer ID (exit 3)
    Case("issuer-empty", "issuer_id", lambda c: "", CONFIG, "issuer"),
    Case("issuer-not-uuid", "issuer_id", lambda c: "my-team", CONFIG, "issuer"),
    Case("issuer-short-group", "issuer_id", lambda c: GOOD_ISSUER[:-1], CONFIG, "issuer"),
    Case("issuer-non-hex", "issuer_id", lambda c: "g" + GOOD_ISSUER[1:], CONFIG, "issuer"),
    Case("issuer-braces", "issuer_id", lambda c: "{" + GOOD_ISSUER + "}", CONFIG, "issuer"),
    Case("issuer-newline-command", "issuer_id", lambda c: GOOD_ISSUER + "\n::add-mask::x", CONFIG, "issuer"),
    Case("issuer-is-the-key-base64", "issuer_id", lambda c: base64.b64encode(c.pem().encode()).decode(),
         CONFIG, "issuer"),
    # --- the lifetime (exit 3)
    Case("lifetime-zero", "lifetime", lambda c: "0", CONFIG, "lifetime"),
    Case("lifetime-negative", "lifetime", lambda c: "-5", CONFIG, "lifetime"),
    Case("lifetime-1201-no-scope", "lifetime", lambda c: "1201", CONFIG, "scope"),
    Case("lifetime-huge", "lifetime", lambda c: "999999999999", CONFIG, "lifetime"),
    Case("lifetime-overflow", "lifetime", lambda c: "9" * 40, CONFIG, "lifetime"),
    Case("lifetime-words", "lifetime", lambda c: "twenty minutes", CONFIG, "lifetime"),
    Case("lifetime-fraction", "lifetime", lambda c: "1.5m", CONFIG, "lifetime"),
    Case("lifetime-exponent", "lifetime", lambda c: "1e3", CONFIG, "lifetime"),
    Case("lifetime-empty", "lifetime", lambda c: "", CONFIG, "lifetime", not_for=_ACTION_EMPTY_IS_DEFAULT),
    Case("lifetime-181-days-scoped", "lifetime", lambda c: "181d", CONFIG, "lifetime",
         others={"scope": ["GET /v1/ciProducts"]}),
    # --- the scope (exit 3)
    Case("scope-method-only", "scope", lambda c: ["GET"], CONFIG, "scope"),
    Case("scope-no-slash", "scope", lambda c: ["GET v1/apps"], CONFIG, "scope"),
    Case("scope-lower-method", "scope", lambda c: ["get /v1/apps"], CONFIG, "scope"),
    Case("scope-with-host", "scope", lambda c: ["GET https://api.appstoreconnect.apple.com/v1/apps"],
         CONFIG, "scope"),
    Case("scope-unknown-method", "scope", lambda c: ["FETCH /v1/apps"], CONFIG, "scope"),
    Case("scope-two-lines", "scope", lambda c: ["GET /v1/apps\nPOST /v1/apps"], CONFIG, "scope",
         not_for=_ACTION_SCOPE_LINES),
    Case("scope-empty-entry", "scope", lambda c: [""], CONFIG, "scope", not_for=_ACTION_EMPTY_IS_DEFAULT),
    Case("scope-long-lived-post", "scope", lambda c: ["POST /v1/ciBuildRuns"], CONFIG, "scope", others=_LONG),
    Case("scope-long-lived-ineligible", "scope", lambda c: ["GET /v1/apps"], CONFIG, "scope", others=_LONG),
    Case("scope-long-lived-one-bad", "scope", lambda c: ["GET /v1/ciProducts", "GET /v1/builds"],
         CONFIG, "scope", others=_LONG),
    # --- the exported variable name (exit 3)
    Case("env-name-assignment", "export_name", lambda c: "A=B", CONFIG, "name"),
    Case("env-name-heredoc", "export_name", lambda c: "X<<Y", CONFIG, "name"),
    Case("env-name-newline", "export_name", lambda c: "TOKEN\nGITHUB_PATH", CONFIG, "name"),
    Case("env-name-github-path", "export_name", lambda c: "GITHUB_PATH", CONFIG, "GITHUB_",
         github_only=True),
    Case("env-name-node-options", "export_name", lambda c: "NODE_OPTIONS", CONFIG, "NODE_OPTIONS"),
    Case("env-name-path", "export_name", lambda c: "PATH", CONFIG, "PATH"),
    Case("env-name-ld-preload", "export_name", lambda c: "LD_PRELOAD", CONFIG, "LD_"),
    Case("env-name-https-proxy", "export_name", lambda c: "HTTPS_PROXY", CONFIG, "HTTPS_PROXY"),
    Case("env-name-java-tool-options", "export_name", lambda c: "JAVA_TOOL_OPTIONS", CONFIG, "JAVA_TOOL_OPTIONS"),
    Case("env-name-git-ssh-command", "export_name", lambda c: "GIT_SSH_COMMAND", CONFIG, "GIT_SSH_COMMAND"),
    Case("env-name-input", "export_name", lambda c: "INPUT_TOKEN", CONFIG, "INPUT_TOKEN"),
    Case("env-name-leading-digit", "export_name", lambda c: "1TOKEN", CONFIG, "name"),
    Case("env-name-shell", "export_name", lambda c: "A;touch${IFS}pwned", CONFIG, "name"),
    Case("env-name-unicode", "export_name", lambda c: "TÖKEN", CONFIG, "name"),
    # --- where the token goes: --output, --dotenv, $GITHUB_ENV, $GITHUB_OUTPUT, $BASH_ENV, $CM_ENV (exit 3)
    Case("output-path-is-the-key-pem", "output_path", lambda c: c.pem(), CONFIG, "{via}"),
    Case("output-path-is-the-key-base64", "output_path", lambda c: base64.b64encode(c.pem().encode()).decode(),
         CONFIG, "{via}"),
    Case("output-path-is-the-key-body-without-slashes", "output_path", _body_without_slashes, CONFIG, "{via}"),
    Case("output-path-is-the-key-literal-n", "output_path", lambda c: c.pem().strip().replace("\n", "\\n"),
         CONFIG, "{via}"),
    Case("output-path-empty", "output_path", lambda c: "", CONFIG, "{via}", exit_for=_CI_FILE_UNSET),
    Case("output-path-blank", "output_path", lambda c: "  ", CONFIG, "{via}", exit_for=_CI_FILE_UNSET),
]

# Mangled in the ways people really store keys, and accepted: these must mint a token.
GOOD_CASES: list[Case] = [
    Case("ok-rewrapped-76", "key", lambda c: _rewrap(c, 76), 0, ""),
    Case("ok-one-line-literal-n", "key", lambda c: c.pem().strip().replace("\n", "\\n"), 0, ""),
    Case("ok-crlf", "key", lambda c: c.pem().replace("\n", "\r\n"), 0, ""),
    Case("ok-base64-of-file", "key", lambda c: base64.b64encode(c.pem().encode()).decode(), 0, ""),
    Case("ok-sec1", "key", lambda c: c.pem(serialization.PrivateFormat.TraditionalOpenSSL), 0, ""),
    Case("ok-long-lived-scoped", "lifetime", lambda c: "7d", 0, "",
         others={"scope": ["GET /v1/ciProducts", "GET /v1/ciBuildRuns/123"]}),
]


def _rewrap(canary: Canary, width: int) -> str:
    lines = _pem_lines(canary)
    body = "".join(lines[1:-1])
    return lines[0] + "\n" + "\n".join(body[i:i + width] for i in range(0, len(body), width)) + "\n" + lines[-1]


def as_bytes(value: Value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, list):
        raise TypeError("a list value has no single byte form")
    return value.encode("utf-8")


def representable_in_env(value: Value) -> str | None:
    """Why ``value`` cannot be one environment variable or argv string, or None when it can."""
    data = b"".join(as_bytes(v) for v in value) if isinstance(value, list) else as_bytes(value)
    if b"\x00" in data:
        return "a NUL byte cannot be in an environment variable or argument (execve)"
    if len(data) >= MAX_ARG_STRLEN:
        return "Linux refuses a single environment or argument string over 128 KiB (MAX_ARG_STRLEN)"
    return None

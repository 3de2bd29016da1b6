"""Turn whatever a user stored as their ``.p8`` key into a P-256 signing key.

People keep Apple's ``AuthKey_<KEYID>.p8`` in many mangled shapes: pasted into a
CI secret with literal ``\\n`` escapes, flattened onto one line, base64-encoded
whole, stripped of its PEM header, saved with CRLF or a byte order mark. All of
them load here to the same key, and the detected shape is reported (never the
material). Anything that is not an EC P-256 private key is refused with a
message that names what it is instead.

Pure functions: bytes or text in, a key or a :class:`KeyLoadError` out.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .errors import KeyLoadError

# A P-256 .p8 file is about 240 bytes; 64 KiB leaves room for any honest
# wrapping and stops a wrong file (or /dev/zero) from being slurped.
MAX_KEY_INPUT_BYTES = 64 * 1024

_BOM = "\ufeff"
_PEM_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")
_BASE64_CHARS = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
# The OID of PKCS#7 "data" (1.2.840.113549.1.7.1): a PKCS#12 bundle opens with it.
_PKCS7_DATA_OID = bytes.fromhex("06092a864886f70d010701")

_REFUSED_PEM_LABELS = {
    "ENCRYPTED PRIVATE KEY": "the private key is encrypted with a passphrase; "
    "export it unencrypted (openssl pkcs8 -topk8 -nocrypt) or use the AuthKey_<KEYID>.p8 file Apple gave you",
    "RSA PRIVATE KEY": "the private key is an RSA key; App Store Connect keys are EC P-256 "
    "(the AuthKey_<KEYID>.p8 file from App Store Connect > Users and Access > Integrations)",
    "OPENSSH PRIVATE KEY": "the private key is an OpenSSH key; App Store Connect needs the "
    "AuthKey_<KEYID>.p8 file from App Store Connect > Users and Access > Integrations",
    "PUBLIC KEY": "this is a public key; xctoken needs the private key (the AuthKey_<KEYID>.p8 file)",
    "EC PUBLIC KEY": "this is a public key; xctoken needs the private key (the AuthKey_<KEYID>.p8 file)",
    "RSA PUBLIC KEY": "this is an RSA public key; xctoken needs the EC private key in AuthKey_<KEYID>.p8",
    "CERTIFICATE": "this is a certificate, not a private key; App Store Connect API keys are "
    "the AuthKey_<KEYID>.p8 file, not a signing certificate",
    "CERTIFICATE REQUEST": "this is a certificate signing request, not a private key; "
    "use the AuthKey_<KEYID>.p8 file",
    "PKCS12": "this is a PKCS#12 (.p12) bundle, not an App Store Connect API key; "
    "use the AuthKey_<KEYID>.p8 file",
}
_ACCEPTED_PEM_LABELS = {"PRIVATE KEY": "PKCS#8", "EC PRIVATE KEY": "SEC1"}
_NOT_A_KEY_HINT = (
    "pass the content of the AuthKey_<KEYID>.p8 file, as PEM or base64 "
    "(base64 -i FILE on macOS, base64 -w0 FILE on Linux)"
)


class KeyForm(NamedTuple):
    """How the key was stored, as far as it can be told without showing it."""

    encoding: str  # "PEM", "base64 of a PEM file", "base64 DER", "DER"
    structure: str  # "PKCS#8" (Apple's .p8) or "SEC1" (EC PRIVATE KEY)
    repairs: tuple[str, ...] = ()  # what had to be undone to read it

    def describe(self) -> str:
        text = f"{self.structure} {self.encoding}"
        if self.repairs:
            text += " (" + ", ".join(self.repairs) + ")"
        return text


@dataclass(frozen=True)
class LoadedKey:
    """An EC P-256 private key ready to sign, and the form it was found in."""

    private_key: ec.EllipticCurvePrivateKey = field(repr=False)
    form: KeyForm
    # What was read, for masking only: the DER as decoded, and the input text as given and as repaired.
    der: bytes = field(default=b"", repr=False, compare=False)
    given: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key.public_key()

    def pkcs8_pem(self) -> str:
        """The key as a .p8 file (``-----BEGIN PRIVATE KEY-----``, 64 columns).

        The PKCS#8 that was read, byte for byte, when it was PKCS#8 (Apple's
        layout stays Apple's); a SEC1 key is converted.
        """
        der = self.der if self.der and _der_structure(self.der) == "PKCS#8" else self.private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        return _pem(der, "PRIVATE KEY") + "\n"

    def secret_strings(self) -> list[str]:
        """Every rendering of this key worth hiding from a CI log.

        The renderings of the DER that was actually decoded and of its canonical
        PKCS#8 and SEC1 re-serializations: PEM texts, each base64 line, the
        one-line base64 of the DER and of the whole .p8 file (with and without
        its final newline), and the input text as given and as repaired. They
        differ: Apple's .p8 keeps the curve parameters inside its ECPrivateKey
        (the body starts ``MIGTAgEA``), which cryptography leaves out when it
        writes PKCS#8 (``MIGHAgEA``), so masks made from a re-serialization alone
        would miss every line of the user's real file.
        """
        found = [text.strip() for text in self.given]
        canonical = [self.private_key.private_bytes(serialization.Encoding.DER, fmt, serialization.NoEncryption())
                     for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL)]
        for der in dict.fromkeys([self.der, *canonical]):
            if not der:
                continue
            pem = _pem(der, "EC PRIVATE KEY" if _der_structure(der) == "SEC1" else "PRIVATE KEY")
            body = base64.b64encode(der).decode("ascii")
            found += [pem, body, *pem.split("\n")[1:-1]]
            for text in (pem, pem + "\n"):
                whole = base64.b64encode(text.encode("ascii")).decode("ascii")
                # One line (base64 -w0, macOS base64 -i), and GNU base64's 76-column lines.
                found += [whole, *(whole[i:i + 76] for i in range(0, len(whole), 76))]
        return list(dict.fromkeys(s for s in found if s))


def _pem(der: bytes, label: str) -> str:
    """PEM text without a final newline, wrapped at 64 columns as Apple and OpenSSL write it."""
    body = base64.b64encode(der).decode("ascii")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"


def load_private_key(data: bytes | str) -> LoadedKey:
    """Load an App Store Connect private key from any of the forms people store it in.

    Accepts PKCS#8 or SEC1 PEM (also with literal ``\\n`` escapes, CRLF, a BOM,
    surrounding quotes or whitespace, flattened onto one line, or not wrapped at
    64 columns), base64 of the whole ``.p8`` file (one line or wrapped), the bare
    base64 DER body without a header, and raw DER bytes.

    Raises :class:`KeyLoadError` with a one-line, secret-free message otherwise.
    """
    try:
        raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)
    except UnicodeEncodeError:  # a lone surrogate ("\ud800") has no UTF-8 form
        raise KeyLoadError("the private key input is not text (it holds unpaired UTF-16 surrogates); "
                           + _NOT_A_KEY_HINT) from None
    if len(raw) > MAX_KEY_INPUT_BYTES:
        raise KeyLoadError(
            f"the private key input is {len(raw)} bytes, over the {MAX_KEY_INPUT_BYTES}-byte limit "
            "(a .p8 key is about 250 bytes); check that the right file or variable is used"
        )
    repairs: list[str] = []
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
        repairs.append("byte order mark removed")
    if raw.startswith(b"\x30") and not _looks_like_text(raw):
        # A DER SEQUENCE ("0" in ASCII): raw DER bytes, read directly.
        return _load_der(raw, KeyForm("DER", "", tuple(repairs)), binary=True)
    given = _decode_text(raw)
    text = _undo_text_mangling(given, repairs)
    if not text:
        raise KeyLoadError("the private key is empty; " + _NOT_A_KEY_HINT)
    if "-----BEGIN" in text or "-----END" in text:
        key = _load_pem(text, "PEM", repairs)
    else:
        key = _load_base64(text, repairs)
    return replace(key, given=tuple(dict.fromkeys((given, text, *key.given))))


def _looks_like_text(raw: bytes) -> bool:
    return all(32 <= b < 127 or b in b"\t\r\n" for b in raw[:64])


def _decode_text(raw: bytes) -> str:
    if b"\x00" in raw:
        raise KeyLoadError("the private key input contains NUL bytes, so it is binary data, not a key; "
                           + _NOT_A_KEY_HINT)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyLoadError(
            "the private key input is not text (invalid UTF-8) and not a DER key; " + _NOT_A_KEY_HINT
        ) from None


def _undo_text_mangling(text: str, repairs: list[str]) -> str:
    """Reverse what shells, CI secret stores and copy-paste do to a PEM file."""
    text = text.strip()
    if text.startswith(_BOM):
        text = text[1:].strip()
        repairs.append("byte order mark removed")
    while len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
        if "surrounding quotes removed" not in repairs:
            repairs.append("surrounding quotes removed")
    if "\\n" in text or "\\r" in text:
        text = text.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\\r", "\n")
        repairs.append("literal \\n escapes expanded")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        repairs.append("CRLF line ends")
    return text.strip()


def _load_pem(text: str, encoding: str, repairs: list[str]) -> LoadedKey:
    blocks = list(_PEM_BEGIN.finditer(text))
    if not blocks:
        raise KeyLoadError(
            "the private key has an -----END line but no -----BEGIN line: the value was cut short; "
            "copy the whole AuthKey_<KEYID>.p8 file again"
        )
    # `openssl ecparam -genkey` writes an EC PARAMETERS block before the key: skip it.
    labels = [m.group(1) for m in blocks]
    chosen = next((m for m in blocks if m.group(1) != "EC PARAMETERS"), blocks[0])
    label = chosen.group(1)
    if label in _REFUSED_PEM_LABELS:
        raise KeyLoadError(_REFUSED_PEM_LABELS[label])
    if label not in _ACCEPTED_PEM_LABELS:
        what = "EC parameters only" if labels == ["EC PARAMETERS"] else f'a PEM block labelled "{label}"'
        raise KeyLoadError(f"the private key input holds {what}, not a private key; " + _NOT_A_KEY_HINT)
    end_marker = f"-----END {label}-----"
    end = text.find(end_marker, chosen.end())
    if end < 0:
        raise KeyLoadError(
            f"the private key PEM has no '{end_marker}' line: the value was truncated; "
            "copy the whole AuthKey_<KEYID>.p8 file, including its last line"
        )
    inner = text[chosen.end():end]
    if "Proc-Type:" in inner and "ENCRYPTED" in inner:
        raise KeyLoadError(_REFUSED_PEM_LABELS["ENCRYPTED PRIVATE KEY"])
    body_lines = inner.strip().split("\n")
    if "\n" not in text.strip():
        repairs.append("flattened onto one line")
    elif any(len(line.strip()) > 64 for line in body_lines):
        repairs.append("not wrapped at 64 columns")
    body = "".join(inner.split())
    der = _b64decode(body, "the private key PEM body is not valid base64: the key was damaged "
                           "in copying; copy the AuthKey_<KEYID>.p8 file again")
    structure = _ACCEPTED_PEM_LABELS[label]
    return _load_der(der, KeyForm(encoding, structure, tuple(repairs)))


# A key variable that holds a file's path instead of its content ("ASC_PRIVATE_KEY=~/AuthKey_X.p8").
_LOOKS_LIKE_A_PATH = re.compile(r"(?:[~.]?/|[A-Za-z]:\\)\S*|\S*\.p8")


def _load_base64(text: str, repairs: list[str]) -> LoadedKey:
    if _LOOKS_LIKE_A_PATH.fullmatch(text):
        raise KeyLoadError("the private key value looks like a file path, not the key: put the path in "
                           "ASC_PRIVATE_KEY_PATH (or --key), or put the file's content in this variable")
    compact = "".join(text.split())
    if compact != text:  # text is stripped, so any whitespace left is inside: wrapping
        repairs.append("wrapped base64")
    der = _b64decode(
        compact,
        "the private key is neither PEM nor valid base64; pass the AuthKey_<KEYID>.p8 content "
        "as PEM, or base64-encode the whole file (base64 -i FILE on macOS, base64 -w0 FILE on Linux)",
    )
    if der.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"-----"):
        inner_text = _undo_text_mangling(_decode_text(der), repairs)
        return replace(_load_pem(inner_text, "base64 of a PEM file", repairs), given=(inner_text,))
    if der.startswith(b"\x30"):
        return _load_der(der, KeyForm("base64 DER", "", tuple(repairs)))
    raise KeyLoadError(
        "the private key decodes from base64 to neither a PEM file nor a DER key; " + _NOT_A_KEY_HINT
    )


def _b64decode(text: str, message: str) -> bytes:
    if not text or not _BASE64_CHARS.fullmatch(text):
        raise KeyLoadError(message)
    if "-" in text or "_" in text:
        text = text.replace("-", "+").replace("_", "/")
    try:
        # Secrets often lose their '=' padding when pasted; restore it.
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise KeyLoadError(message) from None


def _load_der(der: bytes, form: KeyForm, binary: bool = False) -> LoadedKey:
    try:
        key = serialization.load_der_private_key(der, password=None)
    except TypeError:
        # cryptography raises TypeError when a password would be needed.
        raise KeyLoadError(_REFUSED_PEM_LABELS["ENCRYPTED PRIVATE KEY"]) from None
    except (ValueError, UnsupportedAlgorithm):
        raise KeyLoadError(_explain_unreadable_der(der, binary)) from None
    structure = form.structure or _der_structure(der)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeyLoadError(_explain_wrong_key_type(key))
    if not isinstance(key.curve, ec.SECP256R1):
        raise KeyLoadError(
            f"the private key is an EC key on curve {key.curve.name}; App Store Connect keys use "
            "P-256 (prime256v1): use the AuthKey_<KEYID>.p8 file Apple gave you"
        )
    return LoadedKey(key, KeyForm(form.encoding, structure, form.repairs), der=der)


def _der_structure(der: bytes) -> str:
    # After the outer SEQUENCE header: PKCS#8 has version INTEGER 0 then the
    # AlgorithmIdentifier SEQUENCE; SEC1 has version INTEGER 1 then an OCTET STRING.
    return "SEC1" if b"\x02\x01\x01\x04" in der[:8] else "PKCS#8"


def _explain_wrong_key_type(key: object) -> str:
    name = type(key).__name__
    if "RSA" in name:
        return _REFUSED_PEM_LABELS["RSA PRIVATE KEY"]
    if "Ed25519" in name or "Ed448" in name:
        return ("the private key is an Ed25519/Ed448 key; App Store Connect keys are EC P-256 "
                "(the AuthKey_<KEYID>.p8 file from App Store Connect)")
    return ("the private key is not an EC key (found a different key type); App Store Connect keys "
            "are EC P-256 (the AuthKey_<KEYID>.p8 file from App Store Connect)")


def _explain_unreadable_der(der: bytes, binary: bool) -> str:
    if _PKCS7_DATA_OID in der[:64]:
        return _REFUSED_PEM_LABELS["PKCS12"]
    try:
        serialization.load_der_public_key(der)
        return _REFUSED_PEM_LABELS["PUBLIC KEY"]
    except (ValueError, UnsupportedAlgorithm):
        pass
    try:
        from cryptography import x509

        x509.load_der_x509_certificate(der)
        return _REFUSED_PEM_LABELS["CERTIFICATE"]
    except (ValueError, UnsupportedAlgorithm):
        pass
    if binary:
        return "the private key input is binary data that is not a DER key; " + _NOT_A_KEY_HINT
    return ("the private key data is corrupt or truncated (its DER structure does not parse); "
            "copy the whole AuthKey_<KEYID>.p8 file again")

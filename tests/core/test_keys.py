"""load_private_key: every shape people store Apple's .p8 key in, and every wrong file."""

from __future__ import annotations

import base64
import datetime
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from conftest import apple_layout_der, pem_text
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xctoken import KeyForm, KeyLoadError, XctokenError, load_private_key
from xctoken.keys import MAX_KEY_INPUT_BYTES

from .helpers import assert_no_leak, key_renderings, material_renderings

# One key per module: generating keys is the slow part, and every row compares against it.
KEY = ec.generate_private_key(ec.SECP256R1())
NUMBERS = KEY.public_key().public_numbers()
# Apple's .p8 layout (the inner ECPrivateKey keeps its curve parameters: MIGTAgEA...) is the
# key users have; cryptography writes PKCS#8 without them (MIGHAgEA...). Every row runs on both.
APPLE_DER = apple_layout_der(KEY)
APPLE_PEM = pem_text(APPLE_DER)
OPENSSL_PEM = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
PEM = APPLE_PEM
SEC1_PEM = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()
DER = KEY.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption())
SEC1_DER = KEY.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())
BODY = "".join(line for line in PEM.splitlines() if not line.startswith("-----"))
# What `openssl ecparam -name prime256v1 -genkey` writes first: the curve's OID, DER, in PEM.
EC_PARAMETERS = ("-----BEGIN EC PARAMETERS-----\n"
                 + base64.b64encode(bytes.fromhex("06082a8648ce3d030107")).decode()
                 + "\n-----END EC PARAMETERS-----\n")
SECRETS = key_renderings(KEY) + material_renderings(APPLE_PEM) + material_renderings(APPLE_DER)


def b64(data: str | bytes) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def pem_of(private_key: object, fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8,
           encryption: serialization.KeySerializationEncryption | None = None) -> str:
    return private_key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, fmt, encryption or serialization.NoEncryption()).decode()


def replace_in_body(pem: str, start: int, text: str) -> str:
    """``pem`` with its body's characters ``start``.. replaced by ``text``, found by position.

    Never by searching for the characters: a random key's body can share them with the
    BEGIN line (``PR``, ``IV``, ``KE``...), and the test would then mangle that line instead.
    """
    lines = pem.splitlines(keepends=True)
    offset = 0
    for number, line in enumerate(lines[1:-1], start=1):
        content = line.rstrip("\r\n")
        if offset <= start and start + len(text) <= offset + len(content):
            column = start - offset
            lines[number] = content[:column] + text + content[column + len(text):] + line[len(content):]
            return "".join(lines)
        offset += len(content)
    raise ValueError(f"body characters {start}..{start + len(text)} are not on one body line")


def one_long_body_line(pem: str) -> str:
    lines = pem.strip().splitlines()
    return "\n".join([lines[0], "".join(lines[1:-1]), lines[-1]]) + "\n"


# ---------------------------------------------------------------------------- accepted


@dataclass(frozen=True)
class Accepted:
    name: str
    data: bytes | str
    form: KeyForm


def accepted_rows(PEM: str, DER: bytes, layout: str) -> list[Accepted]:  # noqa: N803 - the table's names
    BODY = "".join(line for line in PEM.splitlines() if not line.startswith("-----"))  # noqa: N806
    rows = [
        Accepted("PKCS#8 PEM", PEM, KeyForm("PEM", "PKCS#8")),
        Accepted("PKCS#8 PEM as bytes", PEM.encode(), KeyForm("PEM", "PKCS#8")),
        Accepted("SEC1 EC PRIVATE KEY PEM", SEC1_PEM, KeyForm("PEM", "SEC1")),
        Accepted("SEC1 after an EC PARAMETERS block", EC_PARAMETERS + SEC1_PEM, KeyForm("PEM", "SEC1")),
        Accepted("literal \\n escapes", PEM.replace("\n", "\\n"),
                 KeyForm("PEM", "PKCS#8", ("literal \\n escapes expanded",))),
        Accepted("CRLF line ends", PEM.replace("\n", "\r\n").encode(), KeyForm("PEM", "PKCS#8", ("CRLF line ends",))),
        Accepted("UTF-8 BOM as bytes", b"\xef\xbb\xbf" + PEM.encode(),
                 KeyForm("PEM", "PKCS#8", ("byte order mark removed",))),
        Accepted("UTF-8 BOM as str", "\ufeff" + PEM, KeyForm("PEM", "PKCS#8", ("byte order mark removed",))),
        Accepted("double quotes and whitespace", '  "' + PEM + '"\n\n',
                 KeyForm("PEM", "PKCS#8", ("surrounding quotes removed",))),
        Accepted("single quotes", "'" + PEM.strip() + "'", KeyForm("PEM", "PKCS#8", ("surrounding quotes removed",))),
        Accepted("flattened onto one line", PEM.strip().replace("\n", " "),
                 KeyForm("PEM", "PKCS#8", ("flattened onto one line",))),
        Accepted("body not wrapped at 64 columns", one_long_body_line(PEM),
                 KeyForm("PEM", "PKCS#8", ("not wrapped at 64 columns",))),
        Accepted("base64 of the .p8 file, one line", b64(PEM), KeyForm("base64 of a PEM file", "PKCS#8")),
        Accepted("base64 of the .p8 file, wrapped at 76 like base64(1)", "\n".join(textwrap.wrap(b64(PEM), 76)) + "\n",
                 KeyForm("base64 of a PEM file", "PKCS#8", ("wrapped base64",))),
        Accepted("base64 without '=' padding", b64(PEM).rstrip("="), KeyForm("base64 of a PEM file", "PKCS#8")),
        Accepted("bare base64 DER body, no header", BODY, KeyForm("base64 DER", "PKCS#8")),
        Accepted("raw DER bytes", DER, KeyForm("DER", "PKCS#8")),
        Accepted("raw SEC1 DER bytes", SEC1_DER, KeyForm("DER", "SEC1")),
        Accepted("base64 of a PEM with CRLF", b64(PEM.replace("\n", "\r\n")),
                 KeyForm("base64 of a PEM file", "PKCS#8", ("CRLF line ends",))),
    ]
    return [Accepted(f"{row.name} [{layout}]", row.data, row.form) for row in rows]


ACCEPTED = accepted_rows(APPLE_PEM, APPLE_DER, "apple layout") + accepted_rows(OPENSSL_PEM, DER, "openssl layout")


def test_fixture_shapes_are_what_the_table_claims() -> None:
    # The rows above only test something if the inputs really have these shapes.
    assert PEM.startswith("-----BEGIN PRIVATE KEY-----\n") and SEC1_PEM.startswith("-----BEGIN EC PRIVATE KEY-----")
    # so the unpadded row really lost padding in one layout (Apple's .p8 is 258 bytes: no padding)
    assert b64(OPENSSL_PEM).endswith("=") and not b64(APPLE_PEM).endswith("=")
    assert max(len(line) for line in one_long_body_line(PEM).splitlines()) > 64
    assert len(textwrap.wrap(b64(PEM), 76)) > 1


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.name)
def test_accepted_form_loads_the_same_key(case: Accepted) -> None:
    loaded = load_private_key(case.data)
    assert loaded.private_key.public_key().public_numbers() == NUMBERS
    assert loaded.form == case.form
    assert_no_leak(loaded.form.describe(), SECRETS)
    assert_no_leak(repr(loaded), SECRETS)


def test_fixture_keys_have_both_layouts() -> None:
    assert APPLE_PEM.splitlines()[1].startswith("MIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQg")
    assert OPENSSL_PEM.splitlines()[1].startswith("MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg")


@pytest.mark.parametrize("pem", [APPLE_PEM, OPENSSL_PEM], ids=["apple", "openssl"])
def test_loaded_key_renders_the_pkcs8_it_was_given(pem: str) -> None:
    loaded = load_private_key(b64(pem))
    assert loaded.pkcs8_pem() == pem  # Apple's layout stays Apple's, byte for byte
    assert load_private_key(SEC1_PEM).pkcs8_pem() == OPENSSL_PEM  # SEC1 is converted


def test_loaded_key_renders_canonical_pkcs8() -> None:
    loaded = load_private_key(PEM.replace("\n", "\\n"))
    assert loaded.pkcs8_pem() == PEM
    # Masking must cover at least the PEM itself, its body and the base64 of the file.
    secrets = loaded.secret_strings()
    assert PEM.strip() in secrets and BODY in secrets and b64(PEM) in secrets


# ---------------------------------------------------------------------------- refused


def _self_signed_certificate() -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xctoken test")])
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(KEY.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start + datetime.timedelta(days=1))
            .sign(KEY, hashes.SHA256()))


def _csr() -> x509.CertificateSigningRequest:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xctoken test")])
    return x509.CertificateSigningRequestBuilder().subject_name(name).sign(KEY, hashes.SHA256())


RSA_KEY = rsa.generate_private_key(65537, 2048)
CERT = _self_signed_certificate()
P12 = pkcs12.serialize_key_and_certificates(b"test", KEY, CERT, None, serialization.BestAvailableEncryption(b"pw"))


@dataclass(frozen=True)
class Refused:
    name: str
    data: Callable[[], bytes | str]
    cause: str  # rows with different causes must get different messages
    fragment: str  # a distinctive piece of the expected message
    material: tuple[object, ...] = (KEY,)  # private keys whose renderings must not leak


def _corrupt_der_body() -> str:
    # Still valid base64, but the DER inside is damaged (a byte of the header changed).
    der = bytearray(DER)
    der[1] ^= 0x7F
    body = base64.b64encode(bytes(der)).decode()
    return "-----BEGIN PRIVATE KEY-----\n" + "\n".join(textwrap.wrap(body, 64)) + "\n-----END PRIVATE KEY-----\n"


REFUSED = [
    Refused("RSA PKCS#8", lambda: pem_of(RSA_KEY), "rsa", "RSA key", (RSA_KEY,)),
    Refused("RSA PRIVATE KEY", lambda: pem_of(RSA_KEY, serialization.PrivateFormat.TraditionalOpenSSL),
            "rsa", "RSA key", (RSA_KEY,)),
    Refused("Ed25519", lambda: pem_of(ed25519.Ed25519PrivateKey.generate()), "ed25519", "Ed25519", ()),
    Refused("EC P-384", lambda: pem_of(ec.generate_private_key(ec.SECP384R1())), "p384", "secp384r1", ()),
    Refused("EC P-521", lambda: pem_of(ec.generate_private_key(ec.SECP521R1())), "p521", "secp521r1", ()),
    Refused("EC secp256k1", lambda: pem_of(ec.generate_private_key(ec.SECP256K1())), "k1", "secp256k1", ()),
    Refused("encrypted PKCS#8", lambda: pem_of(KEY, encryption=serialization.BestAvailableEncryption(b"pw")),
            "encrypted", "encrypted with a passphrase"),
    Refused("legacy encrypted SEC1 (Proc-Type)", lambda: pem_of(
        KEY, serialization.PrivateFormat.TraditionalOpenSSL, serialization.BestAvailableEncryption(b"pw")),
        "encrypted", "encrypted with a passphrase"),
    Refused("public key PEM", lambda: KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), "public", "public key"),
    Refused("public key DER", lambda: KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo), "public", "public key"),
    Refused("certificate PEM", lambda: CERT.public_bytes(serialization.Encoding.PEM), "certificate",
            "certificate, not a private key"),
    Refused("certificate DER", lambda: CERT.public_bytes(serialization.Encoding.DER), "certificate",
            "certificate, not a private key"),
    Refused("PKCS#12 raw", lambda: P12, "pkcs12", "PKCS#12"),
    Refused("PKCS#12 base64", lambda: b64(P12), "pkcs12", "PKCS#12"),
    Refused("empty", lambda: b"", "empty", "is empty", ()),
    Refused("whitespace only", lambda: " \n\t\r\n ", "empty", "is empty", ()),
    Refused("truncated PEM (no END line)", lambda: PEM[: PEM.index("-----END")], "truncated",
            "no '-----END PRIVATE KEY-----' line"),
    Refused("PEM body with non-base64 characters", lambda: replace_in_body(PEM, 70, "!?"), "pem-base64",
            "PEM body is not valid base64"),
    Refused("PEM body with damaged DER", _corrupt_der_body, "der", "DER structure does not parse"),
    Refused("END line without BEGIN", lambda: PEM[PEM.index("\n") + 1:], "no-begin", "no -----BEGIN line"),
    Refused("invalid base64", lambda: "this is my key: ask Bob", "base64", "neither PEM nor valid base64", ()),
    Refused("base64 of something else", lambda: b64("hello, this is no key at all"), "base64-other",
            "neither a PEM file nor a DER key", ()),
    Refused("binary garbage that looks like DER", lambda: b"\x30\x82\x01\x07" + bytes(range(1, 200)), "binary",
            "binary data that is not a DER key", ()),
    Refused("NUL bytes", lambda: b"MIGHAgEAMBMGByqGSM49\x00\x00AgEGCCqGSM49", "nul", "NUL bytes", ()),
    Refused("non-UTF-8 text", lambda: b"\xff\xfe\x80 not text", "utf8", "invalid UTF-8", ()),
    Refused("lone surrogate in str", lambda: "-----BEGIN PRIVATE KEY-----\ud800", "utf8", "not text", ()),
    Refused("oversized input", lambda: PEM * (MAX_KEY_INPUT_BYTES // len(PEM) + 1), "oversized",
            f"over the {MAX_KEY_INPUT_BYTES}-byte limit"),
    Refused("OpenSSH private key", lambda: KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()),
        "openssh", "OpenSSH key"),
    Refused("CSR", lambda: _csr().public_bytes(serialization.Encoding.PEM), "csr", "certificate signing request"),
    Refused("EC PARAMETERS only", lambda: EC_PARAMETERS, "params", "EC parameters only", ()),
]


def _refusal(case: Refused) -> KeyLoadError:
    data = case.data()
    with pytest.raises(KeyLoadError) as caught:
        load_private_key(data)
    return caught.value


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.name)
def test_refused_form_explains_itself_without_leaking(case: Refused) -> None:
    data = case.data()
    with pytest.raises(KeyLoadError) as caught:
        load_private_key(data)
    error = caught.value
    message = str(error)
    assert error.exit_code == 4
    assert case.fragment in message
    assert "\n" not in message and "\r" not in message and message.strip() == message
    secrets = material_renderings(data) + [s for key in case.material for s in key_renderings(key)]
    assert_no_leak(message, secrets)


def test_refusal_messages_differ_by_cause() -> None:
    by_cause: dict[str, set[str]] = {}
    for case in REFUSED:
        by_cause.setdefault(case.cause, set()).add(str(_refusal(case)))
    causes = sorted(by_cause)
    for i, first in enumerate(causes):
        for second in causes[i + 1:]:
            shared = by_cause[first] & by_cause[second]
            assert not shared, f"causes {first!r} and {second!r} share the message {shared}"


def test_body_mangling_lands_in_the_body_by_position() -> None:
    # A body whose characters 70..71 also occur in the BEGIN line ("IV" of PRIVATE): searching
    # for them would mangle the BEGIN line; by position, only the body changes, and exactly there.
    body = "A" * 70 + "IV" + "A" * 100
    pem = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(textwrap.wrap(body, 64)) + "\n-----END PRIVATE KEY-----\n"
    mangled = replace_in_body(pem, 70, "!?")
    lines, before = mangled.splitlines(), pem.splitlines()
    assert (lines[0], lines[-1]) == (before[0], before[-1])
    assert "".join(lines[1:-1]) == body[:70] + "!?" + body[72:]
    for crlf in (False, True):  # the same on the module's key, with either line ending
        source = PEM.replace("\n", "\r\n") if crlf else PEM
        changed = replace_in_body(source, 70, "!?")
        assert changed.splitlines()[0] == source.splitlines()[0] and changed.count("\n") == source.count("\n")
        assert "".join(changed.splitlines()[1:-1]) == BODY[:70] + "!?" + BODY[72:]
    with pytest.raises(ValueError, match="not on one body line"):
        replace_in_body(pem, 63, "!?")  # would straddle two lines


def test_leak_helper_catches_a_leak() -> None:
    # The leak check would pass vacuously if the renderings were wrong: prove it bites.
    message = f"bad key {BODY[20:40]} here"
    with pytest.raises(AssertionError):
        assert_no_leak(message, SECRETS)
    with pytest.raises(AssertionError):
        assert_no_leak(DER[10:20].hex(), SECRETS)


# ---------------------------------------------------------------------------- properties


@st.composite
def mangled_keys(draw: st.DrawFn) -> bytes | str:
    """The valid key after any pile-up of the things shells and secret stores do to it."""
    PEM = draw(st.sampled_from([APPLE_PEM, OPENSSL_PEM]))  # noqa: N806
    BODY = "".join(line for line in PEM.splitlines() if not line.startswith("-----"))  # noqa: N806
    layout = draw(st.sampled_from(["as-written", "rewrap", "flatten"]))
    if layout == "as-written":
        text = PEM
    elif layout == "rewrap":
        width = draw(st.integers(min_value=4, max_value=300))
        text = ("-----BEGIN PRIVATE KEY-----\n" + "\n".join(textwrap.wrap(BODY, width))
                + "\n-----END PRIVATE KEY-----" + draw(st.sampled_from(["", "\n"])))
    else:
        text = PEM.strip().replace("\n", " ")
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    if draw(st.booleans()):
        encoded = b64(text)
        if draw(st.booleans()):
            encoded = encoded.rstrip("=")
        wrap = draw(st.sampled_from([0, 64, 76, draw(st.integers(min_value=8, max_value=200))]))
        text = "\n".join(textwrap.wrap(encoded, wrap)) if wrap else encoded
    if draw(st.booleans()):
        text = text.replace("\r", "\\r").replace("\n", "\\n")
    quote = draw(st.sampled_from(["", "'", '"']))
    text = quote + text + quote
    text = draw(st.sampled_from(["", " ", "\n", "\t ", "\r\n"])) + text + draw(st.sampled_from(["", "\n", " \n"]))
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text if draw(st.booleans()) else text.encode("utf-8")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled_keys())
def test_any_mangling_of_a_valid_key_loads_it(data: bytes | str) -> None:
    loaded = load_private_key(data)
    assert loaded.private_key.public_key().public_numbers() == NUMBERS
    assert loaded.form.structure == "PKCS#8"


def _only_key_load_errors(data: bytes | str) -> None:
    try:
        load_private_key(data)
    except KeyLoadError as error:
        message = str(error)
        assert message and "\n" not in message
    except XctokenError as error:  # pragma: no cover - reported as a failure below
        pytest.fail(f"{type(error).__name__} instead of KeyLoadError")


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_only_raise_key_load_error(data: bytes) -> None:
    _only_key_load_errors(data)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400).map(lambda b: b"\x30" + b))
def test_random_der_like_bytes_only_raise_key_load_error(data: bytes) -> None:
    _only_key_load_errors(data)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_random_text_only_raises_key_load_error(data: str) -> None:
    _only_key_load_errors(data)


@settings(max_examples=150, deadline=None)
# st.text() never draws surrogates, so build the strings from characters by hand.
@given(st.lists(st.characters() | st.sampled_from("\ud800\udfff\udc80"), max_size=60).map("".join))
def test_text_with_surrogates_only_raises_key_load_error(data: str) -> None:
    _only_key_load_errors(data)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n\\\"'", max_size=400),
       st.sampled_from(["", "-----BEGIN PRIVATE KEY-----\n", "-----BEGIN EC PRIVATE KEY-----\n"]),
       st.sampled_from(["", "\n-----END PRIVATE KEY-----", "\n-----END EC PRIVATE KEY-----"]))
def test_random_pem_like_text_only_raises_key_load_error(body: str, begin: str, end: str) -> None:
    _only_key_load_errors(begin + body + end)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=len(DER) - 1), st.integers(min_value=1, max_value=255))
def test_damaged_der_only_raises_key_load_error_or_loads_a_p256_key(position: int, flip: int) -> None:
    damaged = bytearray(DER)
    damaged[position] ^= flip
    for data in (bytes(damaged), b64(bytes(damaged))):
        try:
            loaded = load_private_key(data)
        except KeyLoadError:
            continue
        assert isinstance(loaded.private_key.curve, ec.SECP256R1)

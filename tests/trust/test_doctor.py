"""``xctoken doctor`` against a local HTTPS fake of Apple's endpoints: one test per cause it must tell apart.

The fake has its own CA (trusted through SSL_CERT_FILE, as a company proxy's
would be), checks the signature and claims of every token it receives with
jwcrypto (so the tests also prove the right token went out) and answers as
Apple documents: 200, 401 NOT_AUTHORIZED, 403 agreement, 403 role, 429, and a
Date header minutes ahead or behind. Also: a refused connection, a TLS name
mismatch, a proxy. Every report and error goes through the leak scanner.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jwcrypto import jwk
from jwcrypto import jwt as jwcrypto_jwt

from .corpus import GOOD_ISSUER, GOOD_KEY_ID
from .entrypoints import ROOT, Workspace
from .leaks import Canary, Capture, find_leaks

REFUSED, UNREACHABLE = 8, 9


def _certificate(name: str, key: ec.EllipticCurvePrivateKey, issuer_key: ec.EllipticCurvePrivateKey,
                 issuer_name: str, ca: bool, san: list[x509.GeneralName]) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               # Python 3.13's default context verifies with VERIFY_X509_STRICT: it wants the key
               # identifiers and a key usage, as every public CA's certificates have them.
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False)
               .add_extension(x509.KeyUsage(digital_signature=not ca, key_cert_sign=ca, crl_sign=ca,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False,
                                            encipher_only=False, decipher_only=False), critical=True))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass
class Answer:
    status: int = 200
    body: dict[str, object] = field(default_factory=lambda: {"data": []})
    clock_offset: int = 0  # seconds Apple's clock is ahead of this machine's


@dataclass
class FakeApple:
    """An HTTPS server on 127.0.0.1 answering each request with ``answer``, recording what it got."""

    canary: Canary
    directory: Path
    hostname: str = "localhost"  # the name in its certificate
    answer: Answer = field(default_factory=Answer)
    received: list[dict[str, object]] = field(default_factory=list)

    def __post_init__(self) -> None:
        ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        ca = _certificate("xctoken test CA", ca_key, ca_key, "xctoken test CA", True, [])
        san: list[x509.GeneralName] = [x509.DNSName(self.hostname)]
        if self.hostname == "localhost":
            import ipaddress

            san.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
        cert = _certificate(self.hostname, key, ca_key, "xctoken test CA", False, san)
        self.ca_file = self.directory / "ca.pem"
        self.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        (self.directory / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (self.directory / "server.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.directory / "server.pem", self.directory / "server.key")
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                auth = self.headers.get("Authorization", "")
                token = auth.split(" ", 1)[-1] if auth else urllib.parse.parse_qs(body).get(
                    "client_secret", urllib.parse.parse_qs(body).get("client_assertion", [""]))[0]
                claims = fake.verify(token)
                fake.received.append({"method": self.command, "path": self.path, "claims": claims,
                                      "scheme": auth.split(" ", 1)[0] if " " in auth else ""})
                data = json.dumps(fake.answer.body).encode()
                self.send_response(fake.answer.status)
                apple_now = time.time() + fake.answer.clock_offset
                self.send_header("Date", email.utils.formatdate(apple_now, usegmt=True))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer  # noqa: N815 - http.server's names

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"https://localhost:{self.server.server_address[1]}"

    def verify(self, token: str) -> dict[str, object]:
        """The token's claims, its signature checked with jwcrypto (an implementation xctoken does not use)."""
        public = jwk.JWK.from_pyca(self.canary.public_key)
        checked = jwcrypto_jwt.JWT(jwt=token, key=public, algs=["ES256"], check_claims=False)
        return json.loads(checked.claims)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canary() -> Canary:
    return Canary.new()


@pytest.fixture
def apple(canary: Canary, tmp_path: Path) -> Iterator[FakeApple]:
    fake = FakeApple(canary, tmp_path)
    yield fake
    fake.close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then closed again)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def doctor(ws: Workspace, canary: Canary, *args: str, ca_file: Path | None = None, **env: str) -> Capture:
    settings = {"ASC_PRIVATE_KEY": canary.pem(), "ASC_KEY_ID": GOOD_KEY_ID, "ASC_ISSUER_ID": GOOD_ISSUER,
                "PYTHONPATH": str(ROOT), **({"SSL_CERT_FILE": str(ca_file)} if ca_file else {}), **env}
    base = ws.base_env(**{name: value for name, value in settings.items() if value})
    capture = ws.run([sys.executable, "-m", "xctoken", "doctor", *args], base)
    assert find_leaks(capture, canary) == []  # the report and every error
    return capture


def lines(capture: Capture) -> str:
    return capture.stdout.decode()


def test_accepted(apple: FakeApple, canary: Canary, tmp_path: Path) -> None:
    capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", apple.base, ca_file=apple.ca_file)
    assert capture.returncode == 0, capture.stdout + capture.stderr
    assert "result:   ACCEPTED" in lines(capture) and "clock:    in step with Apple's" in lines(capture)
    [seen] = apple.received
    assert seen["method"] == "GET" and seen["path"] == "/v1/apps?limit=1" and seen["scheme"] == "Bearer"
    assert seen["claims"]["iss"] == GOOD_ISSUER and seen["claims"]["aud"] == "appstoreconnect-v1"  # type: ignore[index]


def test_json_report(apple: FakeApple, canary: Canary, tmp_path: Path) -> None:
    apple.answer = Answer(401, {"errors": [{"status": "401", "code": "NOT_AUTHORIZED",
                                            "title": "Authentication credentials are missing or invalid."}]})
    capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", apple.base, "--format", "json",
                     ca_file=apple.ca_file)
    assert capture.returncode == REFUSED
    report = json.loads(capture.stdout)
    assert report["status"] == 401 and report["error_code"] == "NOT_AUTHORIZED" and report["accepted"] is False
    assert report["causes"] and abs(report["clock_offset_seconds"]) <= 2


def test_401_with_a_good_clock_names_the_key_the_issuer_and_the_key_kind(apple: FakeApple, canary: Canary,
                                                                         tmp_path: Path) -> None:
    apple.answer = Answer(401, {"errors": [{"status": "401", "code": "NOT_AUTHORIZED",
                                            "title": "Authentication credentials are missing or invalid."}]})
    capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", apple.base, ca_file=apple.ca_file)
    assert capture.returncode == REFUSED
    text = lines(capture)
    assert "answer:   401 NOT_AUTHORIZED (Authentication credentials are missing or invalid.)" in text
    causes = text.split("likely causes, most likely first:")[1]
    assert "revoked" in causes and "issuer ID" in causes and "In-App Purchase" in causes
    assert "clock" not in causes


@pytest.mark.parametrize(("offset", "words"), [
    (-300, "300 s ahead of Apple's"),     # Apple's clock behind: this machine is ahead, iat in Apple's future
    (1300, "1300 s behind Apple's"),      # Apple's clock far ahead: the token arrives expired
])
def test_401_from_a_clock_off_puts_the_clock_first(apple: FakeApple, canary: Canary, tmp_path: Path, offset: int,
                                                   words: str) -> None:
    apple.answer = Answer(401, {"errors": [{"status": "401", "code": "NOT_AUTHORIZED"}]}, clock_offset=offset)
    capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", apple.base, ca_file=apple.ca_file)
    assert capture.returncode == REFUSED
    first = lines(capture).split("  1. ", 1)[1].splitlines()[0]
    import re

    found = re.search(r"clock is (\d+) s (ahead of|behind) Apple's", first)
    expected, direction = words.split(" s ")
    assert found and direction.startswith(found.group(2)), first
    assert abs(int(found.group(1)) - int(expected)) <= 2, first  # the Date header has whole seconds


def test_403_agreement(apple: FakeApple, canary: Canary, tmp_path: Path) -> None:
    apple.answer = Answer(403, {"errors": [{"status": "403", "code": "FORBIDDEN.REQUIRED_AGREEMENTS_MISSING_OR_EXPIRED",
                                            "title": "A required agreement is missing or has expired."}]})
    capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", apple.base, ca_file=apple.ca_file)
    assert capture.returncode == REFUSED
    assert "agreement is missing or expired" in lines(capture) and "Account Holder" in lines(capture)


def test_403_role(apple: FakeApple, canary: Canary, tmp_path: Path) -> None:
    apple.answer = Answer(403, {"errors": [{"status": "403", "code": "FORBIDDEN_ERROR",
                                            "title": "The API key in use does not allow this request"}]})
    capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", apple.base, ca_file=apple.ca_file)
    assert capture.returncode == REFUSED and "role may not make this request" in lines(capture)


def test_429_rate_limit(apple: FakeApple, canary: Canary, tmp_path: Path) -> None:
    apple.answer = Answer(429, {"errors": [{"status": "429", "code": "RATE_LIMIT_EXCEEDED"}]})
    capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", apple.base, ca_file=apple.ca_file)
    assert capture.returncode == REFUSED and "rate limited" in lines(capture)


def test_connection_refused_is_not_a_credentials_problem(canary: Canary, tmp_path: Path) -> None:
    port = closed_port()
    capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", f"https://127.0.0.1:{port}")
    assert capture.returncode == UNREACHABLE
    assert "COULD NOT ASK" in lines(capture) and "connection refused" in lines(capture)
    assert "not a credentials problem" in lines(capture)


def test_a_certificate_for_another_name_is_a_tls_failure(canary: Canary, tmp_path: Path) -> None:
    fake = FakeApple(canary, tmp_path, hostname="api.example.invalid")
    try:
        capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", fake.base, ca_file=fake.ca_file)
    finally:
        fake.close()
    assert capture.returncode == UNREACHABLE
    assert "TLS" in lines(capture) and "SSL_CERT_FILE" in lines(capture) and fake.received == []


def test_an_untrusted_ca_is_a_tls_failure(apple: FakeApple, canary: Canary, tmp_path: Path) -> None:
    capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", apple.base)  # no SSL_CERT_FILE
    assert capture.returncode == UNREACHABLE and "not trusted" in lines(capture)


class ConnectProxy:
    """An HTTP CONNECT proxy on 127.0.0.1 that records the tunnels it opens."""

    def __init__(self) -> None:
        self.tunnels: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            request += client.recv(4096)
        target = request.split(b" ")[1].decode()
        self.tunnels.append(target)
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection(("127.0.0.1" if host == "localhost" else host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        sockets = [client, upstream]
        while True:
            ready, _, _ = select.select(sockets, [], [], 10)
            if not ready:
                break
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    client.close()
                    upstream.close()
                    return
                (upstream if sock is client else client).sendall(data)

    def close(self) -> None:
        self.listener.close()


def test_https_proxy_is_honoured(apple: FakeApple, canary: Canary, tmp_path: Path) -> None:
    proxy = ConnectProxy()
    try:
        capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", apple.base, ca_file=apple.ca_file,
                         HTTPS_PROXY=proxy.url, NO_PROXY="")
    finally:
        proxy.close()
    assert capture.returncode == 0, lines(capture)
    assert proxy.tunnels == [f"localhost:{apple.server.server_address[1]}"] and len(apple.received) == 1


def test_a_dead_proxy_is_a_network_problem(apple: FakeApple, canary: Canary, tmp_path: Path) -> None:
    port = closed_port()
    capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", apple.base, ca_file=apple.ca_file,
                     HTTPS_PROXY=f"http://127.0.0.1:{port}", NO_PROXY="")
    assert capture.returncode == UNREACHABLE and "HTTPS_PROXY" in lines(capture) and apple.received == []


@pytest.mark.parametrize("base", ["http://api.example.com", "ftp://127.0.0.1", "https://user:pw@127.0.0.1",
                                  "not a url"])
def test_api_base_must_be_https_or_loopback_http(canary: Canary, tmp_path: Path, base: str) -> None:
    capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", base)
    assert capture.returncode == 3 and capture.stdout == b""


def test_a_service_probe_with_the_token_in_a_form_field(apple: FakeApple, canary: Canary, tmp_path: Path) -> None:
    """Sign in with Apple: a code that was never issued; invalid_grant means the client secret was accepted."""
    apple.answer = Answer(400, {"error": "invalid_grant"})
    args = ("--service", "sign-in-with-apple", "--team-id", "DEF123GHIJ", "--client-id", "com.example.web",
            "--api-base", apple.base)
    capture = doctor(Workspace(tmp_path / "w"), canary, *args, ca_file=apple.ca_file, ASC_ISSUER_ID="")
    assert capture.returncode == 0, lines(capture)
    [seen] = apple.received
    assert seen["method"] == "POST" and seen["path"] == "/auth/token"
    assert seen["claims"]["sub"] == "com.example.web"  # type: ignore[index]
    apple.answer = Answer(400, {"error": "invalid_client"})
    refused = doctor(Workspace(tmp_path / "w2"), canary, *args, ca_file=apple.ca_file, ASC_ISSUER_ID="")
    assert refused.returncode == REFUSED and "revoked" in lines(refused)


def test_apns_says_why_doctor_cannot_ask(canary: Canary, tmp_path: Path) -> None:
    capture = doctor(Workspace(tmp_path / "w"), canary, "--service", "apns", "--team-id", "DEF123GHIJ",
                     ASC_ISSUER_ID="")
    assert capture.returncode == 3 and b"HTTP/2" in capture.stderr


def test_a_token_echoed_by_the_server_is_never_repeated(apple: FakeApple, canary: Canary, tmp_path: Path) -> None:
    apple.answer = Answer(401, {"errors": [{"code": "NOT_AUTHORIZED", "title": "PLACEHOLDER"}]})
    original = apple.verify

    def verify_and_echo(token: str) -> dict[str, object]:
        apple.answer.body = {"errors": [{"code": "NOT_AUTHORIZED", "title": f"bad token {token}"}]}
        return original(token)

    apple.verify = verify_and_echo  # type: ignore[method-assign]
    capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", apple.base, ca_file=apple.ca_file)
    assert capture.returncode == REFUSED and "(not shown: it could contain the token)" in lines(capture)


def test_a_redirect_is_never_followed_with_the_token(apple: FakeApple, canary: Canary, tmp_path: Path) -> None:
    """urllib carries the Authorization header along a redirect, to any host: doctor must not follow one."""
    apple.answer = Answer(302, {})
    original = apple.server.RequestHandlerClass.end_headers

    def redirect_headers(handler: BaseHTTPRequestHandler) -> None:
        if apple.answer.status == 302:
            handler.send_header("Location", apple.base + "/redirected")  # followed, it would come back here
        original(handler)

    apple.server.RequestHandlerClass.end_headers = redirect_headers  # type: ignore[method-assign]
    capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", apple.base, ca_file=apple.ca_file)
    assert capture.returncode == REFUSED and "redirect (302)" in lines(capture)
    assert [seen["path"] for seen in apple.received] == ["/v1/apps?limit=1"]


SERVICE_INPUTS = {
    "app-store-server": ["--bundle-id", "com.example.app"],
    "device-check": ["--team-id", "DEF123GHIJ"],
    "sign-in-with-apple": ["--team-id", "DEF123GHIJ", "--client-id", "com.example.web"],
    "musickit": ["--team-id", "DEF123GHIJ"],
    "weatherkit": ["--team-id", "DEF123GHIJ", "--services-id", "com.example.wk"],
    "maps": ["--team-id", "DEF123GHIJ", "--scope", "server_api"],
    "classkit": ["--team-id", "DEF123GHIJ"],
    "business-manager": ["--client-id", "BUSINESSAPI.9703f56c-10ce-4876-8f59-e78e5e23a152"],
    "school-manager": ["--client-id", "SCHOOLAPI.9703f56c-10ce-4876-8f59-e78e5e23a152"],
    "apple-ads": ["--team-id", "SEARCHADS.ccccdddd-1111-2222-3333-444455556666",
                  "--client-id", "SEARCHADS.aaaabbbb-1111-2222-3333-444455556666"],
}


@pytest.mark.parametrize("service", sorted(SERVICE_INPUTS))
def test_every_service_probe_reaches_its_endpoint_with_its_token(service: str, apple: FakeApple, canary: Canary,
                                                                 tmp_path: Path) -> None:
    from xctoken.services import get

    profile = get(service)
    assert profile.probe is not None and profile.probe.why
    key_id = "d136aa66-0c3b-4bd4-9892-c20e8db024ab" if profile.key_id == "uuid" else GOOD_KEY_ID
    capture = doctor(Workspace(tmp_path / "w"), canary, "--service", service, *SERVICE_INPUTS[service],
                     "--api-base", apple.base, ca_file=apple.ca_file, ASC_KEY_ID=key_id,
                     ASC_ISSUER_ID=GOOD_ISSUER if service == "app-store-server" else "")
    assert capture.returncode == 0, lines(capture) + capture.stderr.decode()
    [seen] = apple.received
    expected = urllib.parse.urlsplit(profile.probe.url)
    assert seen["method"] == profile.probe.method
    assert seen["path"] == expected.path + (f"?{expected.query}" if expected.query else "")
    # The fake verified the signature with jwcrypto; the claims are the service's.
    claims = seen["claims"]
    assert isinstance(claims, dict) and set(claims) <= set(profile.claims)


def test_no_proxy_bypasses_the_proxy(apple: FakeApple, canary: Canary, tmp_path: Path) -> None:
    dead = closed_port()
    capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", apple.base, ca_file=apple.ca_file,
                     HTTPS_PROXY=f"http://127.0.0.1:{dead}", NO_PROXY="localhost")
    assert capture.returncode == 0, lines(capture)


def _raw_server(reply: Callable[[socket.socket], None]) -> tuple[socket.socket, int]:
    """A plain-TCP server on 127.0.0.1 running ``reply`` on each connection (for answers http.server won't give)."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=reply, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return listener, listener.getsockname()[1]


def test_a_server_trickling_its_answer_is_cut_off_at_the_deadline(canary: Canary, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def trickle(conn: socket.socket) -> None:
        conn.recv(65536)
        try:
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            for _ in range(60):
                time.sleep(1)
                conn.sendall(b"X-Slow: 1\r\n")  # each byte in time for a per-read timeout, never done
        except OSError:
            pass

    listener, port = _raw_server(trickle)
    try:
        started = time.monotonic()
        capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", f"http://127.0.0.1:{port}",
                         XCTOKEN_DOCTOR_TIMEOUT="3")
        took = time.monotonic() - started
    finally:
        listener.close()
    assert capture.returncode == UNREACHABLE and "no answer within" in lines(capture)
    assert took < 20


def test_a_garbled_answer_is_could_not_ask_not_a_crash(canary: Canary, tmp_path: Path) -> None:
    def garble(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        conn.close()

    listener, port = _raw_server(garble)
    try:
        capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", f"http://127.0.0.1:{port}")
    finally:
        listener.close()
    assert capture.returncode == UNREACHABLE, lines(capture) + capture.stderr.decode()


def test_loopback_http_never_goes_through_a_proxy(canary: Canary, tmp_path: Path) -> None:
    got: list[bytes] = []

    def capture_proxy(conn: socket.socket) -> None:
        got.append(conn.recv(65536))
        conn.close()

    proxy, proxy_port = _raw_server(capture_proxy)
    closed = closed_port()
    try:
        capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", f"http://127.0.0.1:{closed}",
                         HTTP_PROXY=f"http://127.0.0.1:{proxy_port}", NO_PROXY="")
    finally:
        proxy.close()
    assert got == [] and capture.returncode == UNREACHABLE


@pytest.mark.parametrize("base", ["https://127.0.0.1:abc", "https://exa mple.com", "https://[::1"])
def test_malformed_api_base_is_a_configuration_error(canary: Canary, tmp_path: Path, base: str) -> None:
    capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", base)
    assert capture.returncode == 3, capture.stderr


def test_a_token_echoed_in_pieces_is_never_repeated(apple: FakeApple, canary: Canary, tmp_path: Path) -> None:
    original = apple.verify

    def verify_and_echo(token: str) -> dict[str, object]:
        head, payload, signature = token.split(".")
        half = len(signature) // 2
        apple.answer.body = {"errors": [{"code": f"{head}.{payload[:40]}",
                                         "title": f"{payload[40:]}|{signature[:half]} {signature[half:]}"}]}
        return original(token)

    apple.answer = Answer(401, {})
    apple.verify = verify_and_echo  # type: ignore[method-assign]
    capture = doctor(Workspace(tmp_path / "w"), canary, "--api-base", apple.base, ca_file=apple.ca_file)
    assert capture.returncode == REFUSED
    signature_pieces = [s[:12] for s in capture.stdout.decode().split() if len(s) >= 12]
    [seen] = apple.received
    assert "(not shown" in lines(capture)
    assert not any(piece in lines(capture) for piece in signature_pieces if piece.isalnum() and
                   any(c.isdigit() for c in piece) and any(c.isupper() for c in piece))


def test_the_probe_token_lives_five_minutes_at_most(apple: FakeApple, canary: Canary, tmp_path: Path) -> None:
    apple.answer = Answer(400, {"error": "invalid_grant"})
    capture = doctor(Workspace(tmp_path / "w"), canary, "--service", "sign-in-with-apple", "--team-id", "DEF123GHIJ",
                     "--client-id", "com.example.web", "--api-base", apple.base, ca_file=apple.ca_file,
                     ASC_ISSUER_ID="")
    assert capture.returncode == 0
    claims = apple.received[0]["claims"]
    assert isinstance(claims, dict) and claims["exp"] - claims["iat"] == 300

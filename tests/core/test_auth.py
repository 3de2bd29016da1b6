"""TokenAuth against a real local HTTP server that checks every Authorization header.

The server verifies each token's ES256 signature with jwcrypto (not xctoken's code)
and its iat/exp against the same controlled clock the client signs with, so "no
request ever carries an expired token" is checked on the wire, over hours of
simulated polling, for both requests and httpx.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import requests
from conftest import ISSUER_ID
from conftest import TestKey as AscKey
from cryptography.hazmat.primitives import serialization
from jwcrypto import jwk, jws

from xctoken import ConfigError, TokenAuth, TokenRequest, load_private_key


@dataclass
class Clock:
    now: float = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Apple:
    """What the fake API saw: one (token, verdict) per request; tokens in `revoked` get 401."""

    public_key: jwk.JWK
    clock: Clock
    seen: list[tuple[str, str]] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    always_401: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verdict(self, header: str | None) -> tuple[int, str]:
        if not header or not header.startswith("Bearer "):
            return 401, "no bearer token"
        token = header[len("Bearer "):]
        checked = jws.JWS()
        try:
            checked.deserialize(token)
            checked.verify(self.public_key, alg="ES256")
        except Exception:  # noqa: BLE001 - any failure is a refused token
            return 401, "bad signature"
        claims = json.loads(checked.payload)
        if not claims["iat"] <= self.clock.now < claims["exp"]:
            return 401, "expired or not yet valid"
        if self.always_401 or token in self.revoked:
            return 401, "revoked"
        return 200, "ok"


@pytest.fixture
def apple(test_key: AscKey) -> Iterator[tuple[Apple, str]]:
    pem = test_key.private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    state = Apple(jwk.JWK.from_pem(pem), Clock())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            status, why = state.verdict(self.headers.get("Authorization"))
            token = (self.headers.get("Authorization") or "")[len("Bearer "):]
            with state.lock:
                state.seen.append((token, why))
            body = json.dumps({"result": why}).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/v1/apps"
    server.shutdown()
    server.server_close()


def make_auth(key: AscKey, clock: Clock, **kwargs: object) -> TokenAuth:
    request = TokenRequest(key_id=key.key_id, issuer_id=ISSUER_ID)
    return TokenAuth(request, load_private_key(key.pem), clock=clock, **kwargs)  # type: ignore[arg-type]


def poll(client: str, auth: TokenAuth, url: str) -> int:
    if client == "requests":
        return requests.get(url, auth=auth, timeout=10).status_code
    with httpx.Client(auth=auth, timeout=10) as session:
        return session.get(url).status_code


@pytest.mark.parametrize("client", ["requests", "httpx"])
def test_hours_of_polling_never_send_an_expired_token(apple: tuple[Apple, str], test_key: AscKey,
                                                      client: str) -> None:
    state, url = apple
    auth = make_auth(test_key, state.clock)
    for _ in range(250):  # every 37 s for about 2.5 hours: far past any one token's 20 minutes
        assert poll(client, auth, url) == 200, state.seen[-1]
        state.clock.now += 37
    assert all(why == "ok" for _, why in state.seen)
    tokens = [token for token, _ in state.seen]
    assert len(set(tokens)) >= 8  # re-signed as each one neared its end, not once per request
    assert len(set(tokens)) < len(tokens) / 10


@pytest.mark.parametrize("client", ["requests", "httpx"])
def test_a_token_with_less_than_the_margin_left_is_never_sent(apple: tuple[Apple, str], test_key: AscKey,
                                                              client: str) -> None:
    state, url = apple
    auth = make_auth(test_key, state.clock, margin=120)
    first = auth.token()
    state.clock.now = int(first.claims["exp"]) - 119  # type: ignore[call-overload]
    assert poll(client, auth, url) == 200
    sent = state.seen[-1][0]
    assert sent != first.value


@pytest.mark.parametrize("client", ["requests", "httpx"])
def test_a_401_is_retried_once_with_a_new_token(apple: tuple[Apple, str], test_key: AscKey, client: str) -> None:
    state, url = apple
    auth = make_auth(test_key, state.clock)
    state.revoked.add(auth.token().value)  # Apple revoked it before its expiry
    assert poll(client, auth, url) == 200
    assert [why for _, why in state.seen] == ["revoked", "ok"]
    assert state.seen[0][0] != state.seen[1][0]


@pytest.mark.parametrize("client", ["requests", "httpx"])
def test_a_persistent_401_is_given_back_after_one_retry(apple: tuple[Apple, str], test_key: AscKey,
                                                        client: str) -> None:
    state, url = apple
    state.always_401 = True
    auth = make_auth(test_key, state.clock)
    assert poll(client, auth, url) == 401
    assert len(state.seen) == 2


def test_requests_keeps_the_401_in_the_history(apple: tuple[Apple, str], test_key: AscKey) -> None:
    state, url = apple
    auth = make_auth(test_key, state.clock)
    state.revoked.add(auth.token().value)
    response = requests.get(url, auth=auth, timeout=10)
    assert response.status_code == 200 and [r.status_code for r in response.history] == [401]


def test_threads_share_one_instance(apple: tuple[Apple, str], test_key: AscKey) -> None:
    state, url = apple
    auth = make_auth(test_key, state.clock)
    codes: list[int] = []

    def worker() -> None:
        for _ in range(15):
            codes.append(requests.get(url, auth=auth, timeout=10).status_code)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [200] * 120
    assert len({token for token, _ in state.seen}) == 1  # one token, signed once, shared


def test_it_is_an_httpx_auth_when_httpx_is_loaded(test_key: AscKey) -> None:
    auth = make_auth(test_key, Clock())
    assert isinstance(auth, httpx.Auth) and isinstance(auth, TokenAuth)
    assert test_key.pem not in repr(auth) and "Bearer" not in repr(auth)
    assert auth.authorization.startswith("Bearer ey")


def test_neither_http_client_is_imported_by_xctoken() -> None:
    code = ("import sys, xctoken, xctoken.auth; auth = xctoken.TokenAuth; "
            "sys.exit(sorted(m for m in ('requests', 'httpx', 'urllib3') if m in sys.modules) != [])")
    assert subprocess.run([sys.executable, "-I", "-c", code], check=False).returncode == 0


def test_a_margin_as_long_as_the_token_is_refused(test_key: AscKey) -> None:
    with pytest.raises(ConfigError, match="margin"):
        make_auth(test_key, Clock(), margin=1140)


def test_from_env_reads_what_the_actions_export(test_key: AscKey, tmp_path) -> None:
    key_file = tmp_path / f"AuthKey_{test_key.key_id}.p8"
    key_file.write_text(test_key.pem)
    auth = TokenAuth.from_env({"ASC_KEY_ID": test_key.key_id, "ASC_ISSUER_ID": ISSUER_ID,
                               "ASC_PRIVATE_KEY_PATH": str(key_file), "XCTOKEN_LIFETIME": "600"})
    claims = auth.token().claims
    assert claims["iss"] == ISSUER_ID and claims["exp"] - claims["iat"] == 600  # type: ignore[operator]

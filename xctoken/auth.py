"""``TokenAuth``: an ``auth=`` for requests and httpx that never sends an expired token.

A token lives 20 minutes; a job that uploads a build and then polls for its
processing lives longer. Handing a client one bearer string is what makes such
jobs fail with 401 at minute 20. ``TokenAuth`` holds the key instead and signs
on demand:

- lazily, on the first request;
- again whenever the current token has less than ``margin`` seconds left, so
  no request leaves with a token about to expire in flight;
- once more when Apple answers 401 (Apple has been seen revoking tokens before
  their expiry), retrying that request once before the 401 is given back.

It is thread-safe: one instance can serve a client shared by many threads, and
concurrent 401s renew the token once, not once each.

Neither requests nor httpx is imported here. requests calls any callable given
as ``auth=``. httpx only runs the 401 retry for instances of ``httpx.Auth``, so
when httpx is already imported as a ``TokenAuth`` is made (as it is in any
program that uses it), the instance is also an ``httpx.Auth``.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any

from .errors import ConfigError
from .keys import LoadedKey
from .signing import AnyRequest, Signer, Token

DEFAULT_MARGIN = 60.0
_HTTPX_CLASSES: dict[type, type] = {}


class TokenAuth:
    """Signs tokens (App Store Connect, or any service profile) on demand for an HTTP client.

    >>> auth = TokenAuth.from_env()            # ASC_* variables, as `xctoken generate` reads them
    >>> requests.get(url, auth=auth)           # or httpx.Client(auth=auth)
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> TokenAuth:  # noqa: ARG004 - __init__ takes them
        httpx = sys.modules.get("httpx")
        if httpx is None or cls is not TokenAuth:
            return super().__new__(cls)
        if httpx.Auth not in _HTTPX_CLASSES:
            _HTTPX_CLASSES[httpx.Auth] = type("TokenAuth", (TokenAuth, httpx.Auth), {"__module__": __name__})
        return super().__new__(_HTTPX_CLASSES[httpx.Auth])

    def __init__(self, request: AnyRequest, key: LoadedKey, *, margin: float = DEFAULT_MARGIN,
                 clock: Callable[[], float] = time.time) -> None:
        self._signer = Signer(request, key)
        fresh = int(request.lifetime or 0) - int(request.clock_skew)
        if not 0 <= margin < fresh:
            raise ConfigError(f"the margin must be at least 0 and shorter than a fresh token lives ({fresh} s)")
        self._margin = margin
        self._clock = clock
        self._lock = threading.Lock()
        self._token: Token | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kwargs: Any) -> TokenAuth:
        """Credentials and claims settings from the environment, exactly as ``xctoken generate`` reads them."""
        import os

        from .settings import Options, resolve

        resolved = resolve(Options(), os.environ if env is None else env)
        return cls(resolved.request, resolved.key, **kwargs)

    def __repr__(self) -> str:
        return f"TokenAuth(key_id={self._signer.request.key_id!r}, margin={self._margin})"

    # -- tokens --------------------------------------------------------------

    def token(self) -> Token:
        """The current token, signed anew if it has less than the margin left."""
        with self._lock:
            now = self._clock()
            if self._token is None or self._token.expires - now < self._margin:
                self._token = self._signer.sign(now)
            return self._token

    def renew(self, rejected: str) -> Token:
        """A token other than ``rejected`` (the value a 401 came back for), signed now if need be."""
        with self._lock:
            if self._token is None or self._token.value == rejected:
                self._token = self._signer.sign(self._clock())
            return self._token

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value: ``Bearer <token>``."""
        return f"Bearer {self.token().value}"

    # -- requests ------------------------------------------------------------

    def __call__(self, request: Any) -> Any:
        """requests (and httpx's plain-callable auth): set the header; with requests, retry one 401."""
        request.headers["Authorization"] = self.authorization
        if hasattr(request, "register_hook"):  # a requests.PreparedRequest
            request.register_hook("response", self._retry_requests_401)
        return request

    def _retry_requests_401(self, response: Any, **kwargs: Any) -> Any:
        sent = response.request
        if response.status_code != 401 or getattr(sent, "_xctoken_retried", False):
            return response
        if sent.body is not None and not isinstance(sent.body, (bytes, str)):
            return response  # a streamed body was consumed; it cannot be sent again
        response.content  # noqa: B018 - read the body so the connection can be reused
        response.close()
        retry = sent.copy()
        retry._xctoken_retried = True
        retry.headers["Authorization"] = f"Bearer {self.renew(_bearer(sent.headers)).value}"
        again = response.connection.send(retry, **kwargs)
        again.history.append(response)
        again.request = retry
        return again

    # -- httpx ---------------------------------------------------------------

    def auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        """httpx.Auth's flow: send with the current token; on 401, once more with a new one."""
        token = self.token()
        request.headers["Authorization"] = f"Bearer {token.value}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self.renew(token.value).value}"
            yield request


def _bearer(headers: Mapping[str, str]) -> str:
    value = headers.get("Authorization", "")
    return value[len("Bearer "):] if value.startswith("Bearer ") else value

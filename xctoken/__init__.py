"""xctoken: App Store Connect API tokens (ES256 JWTs), done properly.

Library use::

    from xctoken import TokenRequest, load_private_key, mint_token

    key = load_private_key(open("AuthKey_2X9R4HXF34.p8", "rb").read())
    token = mint_token(TokenRequest(key_id="2X9R4HXF34", issuer_id="57246542-..."), key)
    headers = {"Authorization": f"Bearer {token.value}"}

For a client that outlives a token (polling build processing, notarization),
give it a :class:`TokenAuth` instead of a string: it signs a fresh token
whenever the current one is about to expire, and retries a 401 once::

    from xctoken import TokenAuth

    auth = TokenAuth.from_env()      # the ASC_* variables the actions export
    requests.get("https://api.appstoreconnect.apple.com/v1/apps", auth=auth)  # or httpx

Nothing here prints, exits or reads the environment; errors are
:class:`XctokenError` subclasses whose messages never contain key material.
"""

from __future__ import annotations

__version__ = "1.0.0"

from .claims import (
    AUDIENCE_APP_STORE_CONNECT,
    AUDIENCE_ENTERPRISE,
    DEFAULT_CLOCK_SKEW,
    DEFAULT_LIFETIME,
    MAX_LIFETIME,
    MAX_LONG_LIVED_LIFETIME,
    KeyType,
    TokenRequest,
    build_claims,
    build_header,
)
from .errors import (
    ConfigError,
    KeyLoadError,
    KeyNotFoundError,
    OutputError,
    TokenExpiredError,
    TokenInvalidError,
    XctokenError,
)
from .keys import KeyForm, LoadedKey, load_private_key
from .signing import Signer, Token, mint_token


def __getattr__(name: str) -> object:
    # TokenAuth is imported on first use: the CLI never needs it.
    if name == "TokenAuth":
        from .auth import TokenAuth

        return TokenAuth
    if name == "ServiceRequest":  # the other Apple services (xctoken.services): loaded when asked for
        from .services import ServiceRequest

        return ServiceRequest
    raise AttributeError(f"module 'xctoken' has no attribute {name!r}")


__all__ = [
    "AUDIENCE_APP_STORE_CONNECT", "AUDIENCE_ENTERPRISE", "DEFAULT_CLOCK_SKEW", "DEFAULT_LIFETIME",
    "MAX_LIFETIME", "MAX_LONG_LIVED_LIFETIME", "ConfigError", "KeyForm", "KeyLoadError",
    "KeyNotFoundError", "KeyType", "LoadedKey", "OutputError", "ServiceRequest", "Signer", "Token",
    "TokenExpiredError",
    "TokenAuth", "TokenInvalidError", "TokenRequest", "XctokenError", "__version__", "build_claims", "build_header",
    "load_private_key", "mint_token",
]

"""App Store Connect API (team and individual keys; Enterprise Program and Notary APIs).

Its requests are :class:`xctoken.claims.TokenRequest` (see that module for the
rules); this profile describes the service for ``xctoken services``, ``decode``
and ``doctor``; Apple's documentation is in ``sources``.
"""

from ..claims import APP_STORE_CONNECT, DEFAULT_LIFETIME, MAX_LIFETIME
from . import Lifetime, Probe, Profile, Reuse

PROFILE = Profile(
    name=APP_STORE_CONNECT,
    title="App Store Connect API",
    purpose="App Store Connect, Enterprise Program and Notary APIs (uploads, TestFlight, signing, Xcode Cloud)",
    key="App Store Connect API key: App Store Connect > Users and Access > Integrations",
    key_id="ten",
    header={"typ": "JWT"},
    # A team key's claims; an individual key sends sub "user" instead of iss, and the Enterprise
    # Program API the aud apple-developer-enterprise-v1 (TokenRequest builds them all).
    claims={"iss": "{issuer_id}", "iat": "{iat}", "exp": "{exp}", "aud": "appstoreconnect-v1",
            "scope": "{scope:list}"},
    required=("issuer_id",),
    optional=("scope",),
    lifetime=Lifetime("iat", DEFAULT_LIFETIME, MAX_LIFETIME,
                      "App Store Connect refuses tokens living more than 20 minutes, unless scoped to GET "
                      "requests on long-lived resources (up to 180 days)"),
    reuse=Reuse("reuse until it expires"),
    api_base="https://api.appstoreconnect.apple.com/v1",
    sources=("https://developer.apple.com/documentation/appstoreconnectapi/generating-tokens-for-api-requests",),
    probe=Probe("GET", "https://api.appstoreconnect.apple.com/v1/apps?limit=1",
                "the smallest read every team key's role may make; a scoped token must allow GET /v1/apps"),
)

"""Apple Business API: the OAuth 2 client assertion.

Apple's documentation (``sources`` below): a key from an API account in Apple
Business Manager (UUID key ID), iss = sub = the client ID (BUSINESSAPI.<uuid>;
Apple's sample sets iss to the same value), aud
https://account.apple.com/auth/oauth2/v2/token, a unique jti, and exp "less
than 180 days from the iat". Whether Apple enforces jti uniqueness is
unverified, so each token gets a fresh UUID and a short default lifetime.
"""

from . import Lifetime, Probe, Profile, Reuse

OAUTH_AUDIENCE = "https://account.apple.com/auth/oauth2/v2/token"

PROFILE = Profile(
    name="business-manager",
    title="Apple Business Manager",
    purpose="Apple Business API OAuth client assertion (exchanged for a 1-hour access token)",
    key="an API account's private key: Apple Business Manager > Preferences > API",
    key_id="uuid",
    header={},
    claims={"iss": "{client_id}", "sub": "{client_id}", "aud": OAUTH_AUDIENCE, "iat": "{iat}", "exp": "{exp}",
            "jti": "{jti:uuid}"},
    required=("client_id",),
    shapes={"client_id": "businessapi"},
    lifetime=Lifetime("iat", 600, 180 * 86400, "Apple: exp must be less than 180 days from iat",
                      strictly_less=True),
    reuse=Reuse("a fresh assertion per access-token request (jti)"),
    api_base="https://api-business.apple.com/v1 (token: https://account.apple.com/auth/oauth2/token)",
    authorization="",  # the client_assertion form field
    sources=("https://developer.apple.com/documentation/apple-school-and-business-manager-api/"
             "implementing-oauth-for-the-apple-school-manager-and-apple-business-api",),
    probe=Probe("POST", "https://account.apple.com/auth/oauth2/token",
                "the client-credentials exchange itself (the access token it returns is not shown)",
                form={"grant_type": "client_credentials", "client_id": "{client_id}", "scope": "business.api",
                      "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
                form_field="client_assertion"),
)

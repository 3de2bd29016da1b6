"""Apple Ads (formerly Search Ads) API: the OAuth client secret.

Apple's documentation (``sources`` below): a self-made P-256 key whose public half
is uploaded in Apple Ads (UUID key ID), iss = the team ID and sub = the client
ID (both SEARCHADS.<uuid>), aud https://appleid.apple.com, exp "less than 180
days from the iat".
"""

from . import Lifetime, Probe, Profile, Reuse

PROFILE = Profile(
    name="apple-ads",
    title="Apple Ads",
    purpose="Apple Ads Campaign Management / Platform API OAuth client secret",
    key="your own P-256 key, its public key uploaded in Apple Ads > Account Settings > API",
    key_id="uuid",
    header={},
    claims={"sub": "{client_id}", "aud": "https://appleid.apple.com", "iat": "{iat}", "exp": "{exp}",
            "iss": "{team_id}"},
    required=("team_id", "client_id"),
    shapes={"team_id": "searchads", "client_id": "searchads"},
    lifetime=Lifetime("iat", 3600, 180 * 86400, "Apple: exp must be less than 180 days from iat",
                      strictly_less=True),
    reuse=Reuse("reuse until it expires; it buys 1-hour access tokens"),
    api_base="https://api.searchads.apple.com/api/v5 (token: https://appleid.apple.com/auth/oauth2/token)",
    authorization="",  # the client_secret form field
    sources=("https://developer.apple.com/documentation/apple_ads/implementing-oauth-for-the-apple-search-ads-api",),
    probe=Probe("POST", "https://appleid.apple.com/auth/oauth2/token",
                "the client-credentials exchange itself (the access token it returns is not shown)",
                form={"grant_type": "client_credentials", "client_id": "{client_id}", "scope": "searchadsorg"},
                form_field="client_secret"),
)

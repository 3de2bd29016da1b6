"""Apple Push Notification service provider tokens.

Apple's documentation (``sources`` below): exactly alg and kid in the header, iss
(Team ID) and iat in the claims, nothing else. APNs refuses a token whose
iat is more than an hour old (403 ExpiredProviderToken) and a new token more
often than every 20 minutes on a connection (429 TooManyProviderTokenUpdates),
so ``--cache`` reuses one for up to 50 minutes and never mints again within 20.
"""

from . import Lifetime, Profile, Reuse

PROFILE = Profile(
    name="apns",
    title="APNs",
    purpose="Apple Push Notification service provider token",
    key="a key with Apple Push Notifications service enabled: Certificates, Identifiers & Profiles > Keys",
    key_id="ten",
    header={},  # Apple's table has alg and kid only (no typ)
    claims={"iss": "{team_id}", "iat": "{iat}"},
    required=("team_id",),
    lifetime=Lifetime("none", 3600, 3600, "APNs refuses a token whose iat is more than one hour old"),
    reuse=Reuse("one token per team, refreshed every 20 to 60 minutes (429 TooManyProviderTokenUpdates when "
                "refreshed more often)", min_age=20 * 60, max_age=50 * 60),
    api_base="https://api.push.apple.com (sandbox: https://api.sandbox.push.apple.com)",
    sources=("https://developer.apple.com/documentation/usernotifications/establishing-a-token-based-connection-to-apns",),
    probe_missing=("APNs speaks only HTTP/2, which Python's standard library does not; decode checks the "
                   "token offline, and a push's own answer (403 InvalidProviderToken, ExpiredProviderToken) "
                   "names the cause"),
)

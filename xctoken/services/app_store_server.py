"""App Store Server API (also External Purchase, Retention Messaging, Advanced Commerce server calls).

Apple's documentation (``sources`` below): the In-App Purchase key
(SubscriptionKey_<KEYID>.p8), iss = Issuer ID, aud appstoreconnect-v1, the
bundle ID as ``bid`` (required: an Apple engineer, developer forums 833144),
``exp - iat <= 3600``. Apple's Python and Java libraries leave ``iat`` out;
it is sent here, as the documentation lists it and the 60 minutes count from it.
"""

from . import Lifetime, Probe, Profile, Reuse

PROFILE = Profile(
    name="app-store-server",
    title="App Store Server API",
    purpose="App Store Server, External Purchase, Retention Messaging and Advanced Commerce server calls",
    key="In-App Purchase key: App Store Connect > Users and Access > Integrations > In-App Purchase",
    key_id="ten",
    header={"typ": "JWT"},
    claims={"iss": "{issuer_id}", "iat": "{iat}", "exp": "{exp}", "aud": "appstoreconnect-v1",
            "bid": "{bundle_id}"},
    required=("issuer_id", "bundle_id"),
    # Apple's libraries mint a 5-minute token per request.
    lifetime=Lifetime("iat", 300, 3600, "Apple: tokens that expire more than 60 minutes after iat are not valid"),
    reuse=Reuse("Apple: generate a new token for each request"),
    api_base="https://api.storekit.apple.com (sandbox: https://api.storekit-sandbox.apple.com)",
    sources=("https://developer.apple.com/documentation/appstoreserverapi/generating-json-web-tokens-for-api-requests",
             "developer forums thread 833144 (bid required)"),
    # Apple checks the token before the transaction ID: an unknown ID is a 4xx error about the
    # ID (so the credentials passed), a bad token a 401. Nothing is read or changed. That the
    # token is checked first is inferred from the error table, not stated (unverified).
    probe=Probe("GET", "https://api.storekit-sandbox.apple.com/inApps/v2/history/0",
                "a history request for a transaction that cannot exist, in the sandbox: answered 400/404 "
                "once the token is accepted, 401 when it is not", accepted=(200, 400, 404)),
)

"""DeviceCheck and App Attest fraud-metric receipts.

Apple's documentation (``sources`` below): "the same steps you use to create a
provider authentication token for APNs" with a DeviceCheck key. Apple states no
lifetime; a 401 "Authorization Token Expired" exists, so an hour after iat, as
for APNs, is assumed (unverified: the safe side). App Attest's receipt endpoint
takes the JWT without "Bearer" in Apple's example.
"""

from . import Lifetime, Probe, Profile, Reuse

PROFILE = Profile(
    name="device-check",
    title="DeviceCheck",
    purpose="DeviceCheck two bits and App Attest fraud-metric receipts (App Attest: no 'Bearer')",
    key="a key with DeviceCheck enabled: Certificates, Identifiers & Profiles > Keys",
    key_id="ten",
    header={},
    claims={"iss": "{team_id}", "iat": "{iat}"},
    required=("team_id",),
    lifetime=Lifetime("none", 3600, 3600, "assumed as for APNs: one hour after iat", verified=False),
    reuse=Reuse("reuse while valid (unverified: Apple states no rule)"),
    api_base="https://api.devicecheck.apple.com/v1 (development: https://api.development.devicecheck.apple.com)",
    sources=("https://developer.apple.com/documentation/devicecheck/accessing-and-modifying-per-device-data",
             "https://developer.apple.com/documentation/devicecheck/assessing-fraud-risk"),
    # An empty query: Apple answers 400 (missing device token) after authenticating, 401 before
    # (inferred from the error table, unverified).
    probe=Probe("POST", "https://api.development.devicecheck.apple.com/v1/query_two_bits",
                "an empty two-bits query in the development environment: 400 (no device token) once the "
                "token is accepted, 401 when it is not", accepted=(200, 400)),
)

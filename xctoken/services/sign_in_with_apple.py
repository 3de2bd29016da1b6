"""Sign in with Apple client secret.

Apple's documentation (``sources`` below): iss = Team ID, aud https://appleid.apple.com,
sub = the client_id (App ID or Services ID), and "an expiration time more than
15777000 seconds (six months) in the future" is an error, measured from now on
Apple's clock. The default, 180 days, stays a few days inside it.
"""

from . import Lifetime, Probe, Profile, Reuse

PROFILE = Profile(
    name="sign-in-with-apple",
    title="Sign in with Apple",
    purpose="Sign in with Apple client secret (the client_secret of /auth/token and /auth/revoke)",
    key="a key with Sign in with Apple enabled: Certificates, Identifiers & Profiles > Keys",
    key_id="ten",
    header={},
    claims={"iss": "{team_id}", "iat": "{iat}", "exp": "{exp}", "aud": "https://appleid.apple.com",
            "sub": "{client_id}"},
    required=("team_id", "client_id"),
    lifetime=Lifetime("now", 180 * 86400, 15777000,
                      "Apple: an expiration more than 15777000 seconds (six months) in the future is an error"),
    reuse=Reuse("reuse until it expires; rotate before (decode --expires-within)"),
    api_base="https://appleid.apple.com/auth",
    authorization="",  # a form field (client_secret), not a header
    sources=("https://developer.apple.com/documentation/accountorganizationaldatasharing/creating-a-client-secret",),
    # A code that was never issued: invalid_grant means the client secret was accepted.
    probe=Probe("POST", "https://appleid.apple.com/auth/token",
                "a token request with an authorization code that was never issued: invalid_grant once the "
                "client secret is accepted, invalid_client when it is not",
                form={"client_id": "{client_id}", "grant_type": "authorization_code", "code": "xctoken-doctor"},
                form_field="client_secret", accepted=(200,), accepted_errors=("invalid_grant",)),
)

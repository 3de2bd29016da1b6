"""ClassKit Catalog API.

Apple's documentation (``sources`` below): kid, typ JWT and alg; iss = Team ID, iat,
exp "typically 10 to 30 minutes after creation". No hard maximum is documented
(unverified): the safe side keeps to the 30 minutes Apple describes.
"""

from . import Lifetime, Probe, Profile, Reuse

PROFILE = Profile(
    name="classkit",
    title="ClassKit Catalog",
    purpose="ClassKit Catalog API",
    key="a key with ClassKit Catalog enabled: Certificates, Identifiers & Profiles > Keys",
    key_id="ten",
    header={"typ": "JWT"},
    claims={"iss": "{team_id}", "iat": "{iat}", "exp": "{exp}"},
    required=("team_id",),
    lifetime=Lifetime("iat", 20 * 60, 30 * 60, "Apple: exp is typically 10 to 30 minutes after creation",
                      verified=False),
    reuse=Reuse("reuse until it expires"),
    api_base="https://classkit-catalog.apple.com/v1",
    sources=("https://developer.apple.com/documentation/classkitcatalogapi/authenticating-calls-to-the-classkit-catalog-api",),
    # The endpoint is Apple's example request; its answer to an empty catalog is unverified.
    probe=Probe("GET", "https://classkit-catalog.apple.com/v1/contexts?environment=development&limit=1",
                "one context of the development catalog"),
)

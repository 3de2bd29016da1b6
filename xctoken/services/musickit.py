"""Apple Music API / MusicKit developer tokens (also Apple Music Feed and ShazamKit).

Apple's documentation (``sources`` below): a Media Services key, iss = Team ID, exp
"must not be greater than 15777000 (6 months in seconds) from the current Unix
time on the server", an optional ``origin`` array for the web. ShazamKit's
claims are inferred from Apple's link to the same page (unverified).
"""

from . import Lifetime, Probe, Profile, Reuse

PROFILE = Profile(
    name="musickit",
    title="MusicKit",
    purpose="Apple Music API, MusicKit JS, Apple Music Feed and ShazamKit developer token",
    key="a Media Services key (MusicKit) for a Media ID: Certificates, Identifiers & Profiles > Keys",
    key_id="ten",
    header={},
    claims={"iss": "{team_id}", "iat": "{iat}", "exp": "{exp}", "origin": "{origin:list}"},
    required=("team_id",),
    optional=("origin",),
    lifetime=Lifetime("now", 180 * 86400, 15777000,
                      "Apple: exp must not be more than 15777000 seconds (6 months) from the current time"),
    reuse=Reuse("reuse until it expires (429 when one token's rate limit is exceeded)"),
    api_base="https://api.music.apple.com/v1",
    sources=("https://developer.apple.com/documentation/applemusicapi/generating-developer-tokens",),
    probe=Probe("GET", "https://api.music.apple.com/v1/catalog/us/genres?limit=1",
                "one catalog genre: the smallest catalog read a developer token allows"),
)

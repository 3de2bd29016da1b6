"""Maps: MapKit JS, Maps Embed API, Web Snapshots and the Apple Maps Server API.

Apple's documentation (``sources`` below): typ JWT is required; ``scope`` is a
space-separated list of embed_api, mapkit_js, server_api, web_snapshots;
``origin`` (a domain, a pattern such as *.example.com, or a comma-separated
list) is required with the browser scopes. Apple documents no maximum
lifetime (unverified; an Apple sample used 7 days); the default is an hour.
The Server API's /v1/token exchanges this token for a 30-minute access token.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..errors import ConfigError
from . import Lifetime, Probe, Profile, Reuse

if TYPE_CHECKING:
    from . import ServiceRequest

SCOPES = ("embed_api", "mapkit_js", "server_api", "web_snapshots")
BROWSER_SCOPES = ("embed_api", "mapkit_js", "web_snapshots")
# A host or *.host, no scheme, port or path (a trailing slash fails Apple's origin check).
_ORIGIN = re.compile(r"(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*", re.ASCII)


def check(request: ServiceRequest) -> None:
    scopes = [name for entry in request.scope for name in entry.split()]
    unknown = [name for name in scopes if name not in SCOPES]
    if unknown:
        shown = unknown[0] if re.fullmatch(r"[a-z_]{1,20}", unknown[0]) else "(not shown)"
        raise ConfigError(f"Maps scope {shown} is unknown; use any of {', '.join(SCOPES)}")
    object.__setattr__(request, "scope", tuple(dict.fromkeys(scopes)))
    origins = [part.strip() for entry in request.origin for part in entry.split(",") if part.strip()]
    bad = [o for o in origins if not _ORIGIN.fullmatch(o)]
    if bad:
        raise ConfigError("a Maps origin is a domain or a pattern such as example.com or *.example.com, "
                          "without scheme, port, path or trailing slash")
    object.__setattr__(request, "origin", tuple(dict.fromkeys(origins)))
    if any(name in BROWSER_SCOPES for name in scopes) and not origins:
        raise ConfigError("Maps tokens for mapkit_js, web_snapshots or embed_api need --origin (the site's "
                          "domain, like example.com; repeat it for *.example.com)")


PROFILE = Profile(
    name="maps",
    title="Maps",
    purpose="MapKit JS, Maps Embed API, Web Snapshots and Apple Maps Server API (scope: product names)",
    key="a Maps key for a Maps ID: Certificates, Identifiers & Profiles > Keys",
    key_id="ten",
    header={"typ": "JWT"},
    claims={"iss": "{team_id}", "iat": "{iat}", "exp": "{exp}", "scope": "{scope:space}",
            "origin": "{origin:comma}"},
    required=("team_id",),
    optional=("scope", "origin"),
    lifetime=Lifetime("iat", 3600, None, "Apple documents no maximum", verified=False),
    reuse=Reuse("reuse until it expires; the Server API trades it for 30-minute access tokens"),
    api_base="https://maps-api.apple.com/v1",
    sources=("https://developer.apple.com/documentation/applemapsserverapi/creating-and-using-tokens-with-maps-server-api",
             "https://developer.apple.com/documentation/mapkitjs/creating-a-maps-token"),
    check=check,
    probe=Probe("GET", "https://maps-api.apple.com/v1/token",
                "the Server API's token exchange (its access token is not shown); needs the server_api scope"),
)

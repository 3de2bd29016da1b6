"""WeatherKit REST API.

Apple's documentation (``sources`` below): the header carries ``id`` =
``<TeamID>.<ServicesID>``, the claims exactly iss, iat, exp and sub (the
Services ID): "Ensure that the token contains only the claims listed". Apple
documents no maximum lifetime (unverified); the default is an hour.
"""

from . import Lifetime, Probe, Profile, Reuse

PROFILE = Profile(
    name="weatherkit",
    title="WeatherKit",
    purpose="WeatherKit REST API",
    key="a key with WeatherKit enabled, and a Services ID: Certificates, Identifiers & Profiles",
    key_id="ten",
    header={"id": "{team_id}.{services_id}"},
    claims={"iss": "{team_id}", "iat": "{iat}", "exp": "{exp}", "sub": "{services_id}"},
    required=("team_id", "services_id"),
    lifetime=Lifetime("iat", 3600, None, "Apple documents no maximum", verified=False),
    reuse=Reuse("reuse until it expires"),
    api_base="https://weatherkit.apple.com/api/v1",
    sources=("https://developer.apple.com/documentation/weatherkitrestapi/request-authentication-for-weatherkit-rest-api",),
    probe=Probe("GET", "https://weatherkit.apple.com/api/v1/availability/37.33/-122.01",
                "the data sets available at one place: no weather data is fetched or billed"),
)

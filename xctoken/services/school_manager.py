"""Apple School Manager API: the OAuth 2 client assertion (as Apple Business, with SCHOOLAPI.<uuid>).

Apple's documentation (``sources`` below).
"""

from dataclasses import replace

from .business_manager import PROFILE as BUSINESS

PROFILE = replace(
    BUSINESS,
    name="school-manager",
    title="Apple School Manager",
    purpose="Apple School Manager API OAuth client assertion (exchanged for a 1-hour access token)",
    key="an API account's private key: Apple School Manager > Preferences > API",
    shapes={"client_id": "schoolapi"},
    api_base="https://api-school.apple.com/v1 (token: https://account.apple.com/auth/oauth2/token)",
    probe=replace(BUSINESS.probe, form={**BUSINESS.probe.form, "scope": "school.api"}) if BUSINESS.probe else None,
)

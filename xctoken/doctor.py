"""``xctoken doctor``: ask Apple once, and say why it refuses the credentials.

Offline checks (``check``, ``decode``) see only what a token shows. A revoked
key, a wrong issuer ID, a key of another kind, a missing agreement or a runner
clock minutes off show only in Apple's answer. So this module signs a token in
memory, makes the service's one harmless request (its profile's
:class:`~xctoken.services.Probe`), and turns the status, Apple's error code and
the offset between this machine's clock and Apple's ``Date`` header into causes,
most likely first.

The only network code in xctoken, on the standard library: urllib (which
honours HTTPS_PROXY and NO_PROXY) and ssl (the system trust store, and
SSL_CERT_FILE). ``generate``, ``decode`` and ``check`` never import it.
The report never holds the token or key material: Apple's answer is reduced to
its status, error code and title, and anything in it that contains the token is
dropped.
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import json
import os
import re
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from .claims import TokenRequest
from .errors import ConfigError, XctokenError
from .keys import LoadedKey
from .signing import AnyRequest, Signer

TIMEOUT = 20.0  # for the whole request: connecting, TLS, the answer (XCTOKEN_DOCTOR_TIMEOUT for tests)
PROBE_LIFETIME = 300
_MAX_BODY = 64 * 1024
USER_AGENT = "xctoken-doctor"


class CredentialsRefused(XctokenError):
    """Apple answered, and refused the credentials (or the request they allow)."""

    exit_code = 8


class AppleUnreachable(XctokenError):
    """The request did not get an answer from Apple: network, proxy, TLS or DNS."""

    exit_code = 9


@dataclass
class Diagnosis:
    service: str
    method: str
    url: str  # as asked, without query values that could matter (none hold secrets)
    status: int | None = None  # None: no answer
    error_code: str = ""
    error_title: str = ""
    clock_offset: int | None = None  # Apple's clock minus this machine's, seconds
    causes: list[str] = field(default_factory=list)
    network_error: str = ""
    refused: bool = False  # Apple answered, and not with an accepting status
    why: str = ""  # why this request (the profile's Probe.why)

    @property
    def accepted(self) -> bool:
        return self.status is not None and not self.network_error and not self.refused

    def as_json(self) -> dict[str, object]:
        return {"service": self.service, "request": f"{self.method} {self.url}", "why": self.why,
                "status": self.status,
                "accepted": self.accepted, "error_code": self.error_code or None,
                "error_title": self.error_title or None, "clock_offset_seconds": self.clock_offset,
                "network_error": self.network_error or None, "causes": self.causes}


def probe_url(url: str, api_base: str | None) -> str:
    """``url`` with its scheme and host (and any path prefix) taken from ``api_base``."""
    if not api_base:
        return url
    text = api_base.strip()
    if any(c.isspace() or not c.isprintable() for c in text):
        raise ConfigError("--api-base must be one URL, without spaces or line breaks")
    try:
        base = urllib.parse.urlsplit(text)
        host = base.hostname or ""
        base.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        raise ConfigError("--api-base is not a valid URL (like https://proxy.example.com:8443)") from None
    if base.scheme == "http":
        if not _is_loopback(host):
            raise ConfigError("--api-base must be https (http only on a loopback address such as 127.0.0.1)")
    elif base.scheme != "https" or not host:
        raise ConfigError("--api-base must be an https URL like https://proxy.example.com")
    if base.username or base.password:
        raise ConfigError("--api-base must not carry a user name or password")
    target = urllib.parse.urlsplit(url)
    path = base.path.rstrip("/") + target.path
    return urllib.parse.urlunsplit((base.scheme, base.netloc, path, target.query, ""))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    cafile = os.environ.get("SSL_CERT_FILE", "").strip()
    if cafile:
        context.load_verify_locations(cafile=cafile)
    return context


Opener = Callable[[urllib.request.Request, float], tuple[int, dict[str, str], bytes]]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: urllib would carry the Authorization header (the token) to wherever
    it points, another host or plain http included. The 3xx itself is the answer."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _open(request: urllib.request.Request, timeout: float) -> tuple[int, dict[str, str], bytes]:
    """One request, answered within ``timeout`` seconds in all (a server trickling bytes included)."""
    outcome: list[object] = []

    def ask() -> None:
        try:
            outcome.append(_ask(request, timeout))
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
            outcome.append(error)

    worker = threading.Thread(target=ask, daemon=True)  # left behind if it hangs: the process exits anyway
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise TimeoutError(f"no answer within {timeout:.0f} s")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]  # type: ignore[return-value]


def _ask(request: urllib.request.Request, timeout: float) -> tuple[int, dict[str, str], bytes]:
    # ProxyHandler() reads HTTPS_PROXY/NO_PROXY; https through a proxy is a CONNECT tunnel. Plain http
    # (loopback only) never goes through a proxy: the token would cross the network in clear.
    proxies = urllib.request.ProxyHandler({} if request.type == "http" else None)
    opener = urllib.request.build_opener(proxies, _NoRedirects(), urllib.request.HTTPSHandler(context=_context()))
    try:
        with opener.open(request, timeout=timeout) as response:  # nosec B310 - https, or http on loopback only
            return response.status, dict(response.headers.items()), response.read(_MAX_BODY)
    except urllib.error.HTTPError as error:  # 4xx/5xx: an answer, not a failure to ask
        with error:
            return error.code, dict(error.headers.items()), error.read(_MAX_BODY)


def diagnose(request: AnyRequest, key: LoadedKey, api_base: str | None = None, opener: Opener = _open,
             clock: Callable[[], float] = time.time,
             before_request: Callable[[str], None] | None = None) -> Diagnosis:
    """Sign a token, make the service's probe request, and explain the answer.

    The probe's token lives five minutes at most (it is for this one request);
    ``before_request`` gets it first, so a caller on a CI runner can mask it.
    """
    from .services import DEFAULT_SERVICE, get

    service = DEFAULT_SERVICE if isinstance(request, TokenRequest) else request.service
    profile = get(service)
    probe = profile.probe
    if probe is None:
        raise ConfigError(f"doctor cannot ask {profile.title}: {profile.probe_missing}")
    url = probe_url(probe.url, api_base)
    diagnosis = Diagnosis(service, probe.method, url, why=probe.why)
    signed_at = clock()
    token = Signer(_short_lived(request), key).sign(signed_at)
    if before_request is not None:
        before_request(token.value)
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    data = None
    if probe.form_field:
        values = {name: _fill_form(template, request) for name, template in probe.form.items()}
        values[probe.form_field] = token.value
        data = urllib.parse.urlencode(values).encode("ascii")
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    else:
        headers["Authorization"] = f"{profile.authorization} {token.value}".strip()
        if probe.method == "POST":
            data, headers["Content-Type"] = b"{}", "application/json"
    # The URL is a profile's https URL, or --api-base checked by probe_url (https; http on loopback).
    outgoing = urllib.request.Request(url, data=data, headers=headers, method=probe.method)  # noqa: S310
    try:
        status, response_headers, body = opener(outgoing, _timeout())
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        diagnosis.network_error = _network_reason(error)
        diagnosis.causes = [_network_cause(error, url)]
        return diagnosis
    answered_at = clock()
    diagnosis.status = status
    diagnosis.error_code, diagnosis.error_title = _apple_error(body, token.value)
    date = _header(response_headers, "Date")
    if date:
        try:
            apple_now = email.utils.parsedate_to_datetime(date).timestamp()
            diagnosis.clock_offset = round(apple_now - (signed_at + answered_at) / 2)
        except (TypeError, ValueError):
            pass
    _explain(diagnosis, profile, request, token.claims, signed_at, probe.accepted, probe.accepted_errors)
    return diagnosis


def _timeout() -> float:
    try:
        return min(TIMEOUT, max(1.0, float(os.environ.get("XCTOKEN_DOCTOR_TIMEOUT", TIMEOUT))))
    except ValueError:
        return TIMEOUT


def _short_lived(request: AnyRequest) -> AnyRequest:
    """The same request, living at most 5 minutes: a 180-day client secret has no business in a probe."""
    import dataclasses

    lifetime = int(request.lifetime or 0)
    skew = int(request.clock_skew)
    short = max(min(lifetime, PROBE_LIFETIME), skew + 60)
    if short >= lifetime:
        return request
    from .services import ServiceRequest

    if isinstance(request, ServiceRequest) and request.profile.lifetime.counted_from == "none":
        return request
    return dataclasses.replace(request, lifetime=short)


def _fill_form(template: str, request: AnyRequest) -> str:
    if template.startswith("{") and template.endswith("}"):
        return str(getattr(request, template[1:-1], "") or "")
    return template


def _header(headers: dict[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), "")


def _apple_error(body: bytes, token: str) -> tuple[str, str]:
    """Apple's error code and title: App Store Connect's ``errors[0]``, OAuth's ``error``, APNs' ``reason``."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "", ""
    code, title = "", ""
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            code, title = str(errors[0].get("code", "")), str(errors[0].get("title", ""))
        elif "error" in data:
            code, title = str(data.get("error", "")), str(data.get("error_description", ""))
        elif "errorCode" in data:  # App Store Server: {"errorCode": 4010000, "errorMessage": ...}
            code, title = str(data.get("errorCode", "")), str(data.get("errorMessage", ""))
        elif "reason" in data:
            code = str(data.get("reason", ""))
    # Never repeat any of a token (a proxy or a fake could echo it, in pieces): a code is shown only
    # in the shape Apple's codes have, and a title only if it holds no run that could be a token part.
    if code and not _ERROR_CODE.fullmatch(code):
        code = "(not shown)"
    pieces = [token, *token.split(".")]
    if any(piece and piece[:16] in title for piece in pieces) or _TOKEN_LIKE.search(title):
        title = "(not shown: it could contain the token)"
    return code, " ".join(title.split())[:200]


_ERROR_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,79}|[0-9]{1,12}")
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_-]{16,}")


def _network_reason(error: BaseException) -> str:
    reason = getattr(error, "reason", error)
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({reason.verify_message})"
    if isinstance(reason, ssl.SSLError):
        return f"TLS failed ({reason.reason or type(reason).__name__})"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError):
        return f"no answer within {_timeout():.0f} s"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return type(reason).__name__


def _network_cause(error: BaseException, url: str) -> str:
    reason = getattr(error, "reason", error)
    host = urllib.parse.urlsplit(url).hostname
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    via = " through the proxy in HTTPS_PROXY" if proxy else ""
    if isinstance(reason, ssl.SSLError):
        return (f"the connection to {host}{via} is not trusted: a company proxy that inspects TLS needs its CA in "
                "SSL_CERT_FILE, or --api-base names the wrong host; this is not a credentials problem")
    return (f"could not reach {host}{via} ({_network_reason(error)}): check the network, DNS, HTTPS_PROXY and "
            "NO_PROXY; this is not a credentials problem")


def _explain(diagnosis: Diagnosis, profile: object, request: AnyRequest, claims: dict[str, object],
             signed_at: float, accepted: tuple[int, ...], accepted_errors: tuple[str, ...]) -> None:
    from .services import Profile

    assert isinstance(profile, Profile)  # nosec B101
    status, code = diagnosis.status, diagnosis.error_code
    if status in accepted or (code and code in accepted_errors):
        return
    diagnosis.refused = True
    causes = diagnosis.causes
    offset = diagnosis.clock_offset
    iat = claims.get("iat")
    exp = claims.get("exp")
    if exp is None and isinstance(iat, int):
        exp = iat + int(request.lifetime or 0)
    apple_then = None if offset is None else signed_at + offset  # Apple's clock when the token was made
    if status == 401 or code in ("invalid_client", "NOT_AUTHORIZED") or status == 403 and code in (
            "InvalidProviderToken", "ExpiredProviderToken"):
        if apple_then is not None and offset is not None and isinstance(iat, int) and iat > apple_then:
            causes.append(f"this machine's clock is {-offset} s ahead of Apple's, so the token's iat is in Apple's "
                          f"future: sync the clock (NTP), or back-date more with --clock-skew {min(600, -offset + 60)}")
        elif apple_then is not None and isinstance(exp, int) and exp <= apple_then:
            causes.append(f"this machine's clock is {offset} s behind Apple's, more than the token lives: it "
                          "arrived expired; sync the clock (NTP)")
        causes.extend(_refusal_causes(profile, request))
    elif status == 403:
        if "AGREEMENT" in code.upper():
            causes.append("an agreement is missing or expired (" + code + "): the Account Holder accepts it in "
                          "App Store Connect > Business (or developer.apple.com > Account); nothing is wrong with "
                          "the key")
        else:
            causes.append(f"the key was accepted, but its role may not make this request ({code or '403'}): give "
                          "the key a role that can (App Store Connect > Users and Access > Integrations), or "
                          "scope the token to what the role allows")
    elif status == 429:
        causes.append("rate limited (429): the key was accepted, but too many requests were made; wait and "
                      "retry, and reuse tokens (--cache) instead of minting one per request")
    elif status is not None and 300 <= status < 400:
        causes.append(f"the answer was a redirect ({status}), which doctor does not follow (the token would go "
                      "along): check --api-base, or a proxy rewriting the request")
    elif status is not None and status >= 500:
        causes.append(f"Apple's service failed ({status}); nothing says the credentials are wrong: retry later "
                      "(developer.apple.com/system-status)")
    else:
        causes.append(f"Apple answered {status} {code}".strip() + f" to {diagnosis.method} {diagnosis.url}")


def _refusal_causes(profile: object, request: AnyRequest) -> list[str]:
    """Why a well-timed token is refused, for this kind of token, most common first."""
    if isinstance(request, TokenRequest):
        causes = [f"the key ID {request.key_id} does not match the key, or the key was revoked: compare it with "
                  "App Store Connect > Users and Access > Integrations (a key shows once; a new one needs a new "
                  ".p8)"]
        if request.issuer_id:
            causes.append("the issuer ID is not this team's (App Store Connect > Integrations shows it above "
                          "the keys), or this is an individual key: then use --key-type individual")
        else:
            causes.append("this is a team key used as individual: give --issuer-id (and --key-type team)")
        causes.append("the key is of another kind (In-App Purchase, APNs, Sign in with Apple): App Store "
                      "Connect takes only an App Store Connect API key; for the others use --service")
        if request.scope:
            causes.append("the token's scope does not allow this request (GET /v1/apps)")
        return causes
    title = getattr(profile, "title", "the service")
    return [f"the key ID {request.key_id} does not match the key, or the key was revoked, or it lacks {title} "
            "(a key serves only the services enabled for it when it was made)",
            "a team, issuer or client ID is not the one the key belongs to: check each in the portal"]

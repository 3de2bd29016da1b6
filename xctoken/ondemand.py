"""Tokens on demand for the rest of a job: what the actions leave behind.

A token dies 20 minutes after it is made; a job that uploads a build and waits
for processing or notarization outlives it. So, besides the one token of the
step, the actions configure the job: the key goes into ``AuthKey_<KEYID>.p8``
(0600, under RUNNER_TEMP, which the runner empties when the job ends), the
credentials and claims settings into variables, and an ``xctoken`` command onto
PATH, so every later step mints a fresh token when it needs one.

This module decides, as pure functions, which variables and which launcher;
:mod:`xctoken.action` writes them.

Two launchers, because the two actions leave different things on the runner:

- the portable action has a venv with xctoken's dependencies: the launcher runs
  its Python on the action's own checkout;
- the container action's code lives only in its image, and the host's Python
  cannot load the image's compiled dependencies (cryptography needs cffi's
  ``_cffi_backend``, built for one Python version). The launcher runs the SAME
  image, by its ID, as the step's user, with RUNNER_TEMP and the working
  directory mounted at their own paths. Docker is there by definition: the
  runner itself ran this action with it, as the same user. Only a job container
  (``container:``) usually lacks the docker CLI; the launcher then says so.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .claims import DEFAULT_CLOCK_SKEW, TokenRequest
from .errors import ConfigError

if TYPE_CHECKING:
    from .services import ServiceRequest


@dataclass(frozen=True)
class KeySetup:
    """What a tool may be pointed at: host paths of the key files, and the IDs."""

    key_id: str
    issuer_id: str | None  # None for an individual key
    key_path: str  # .../private_keys/AuthKey_<KEYID>.p8
    keys_dir: str  # .../private_keys
    api_key_json: str  # fastlane's API key JSON
    in_house: bool  # the Enterprise Program audience


def job_variables(request: TokenRequest | ServiceRequest, key_path: str) -> dict[str, str]:
    """What a later ``xctoken generate`` with no arguments needs to mint the same token.

    The credentials go in the ``ASC_*`` names (shared with the asc CLI); the
    claims settings in ``XCTOKEN_*``, one per flag (xctoken.settings); another
    service's name and inputs in ``XCTOKEN_SERVICE``, ``XCTOKEN_TEAM_ID``, ...
    """
    if not isinstance(request, TokenRequest):
        return _service_variables(request, key_path)
    variables = {"ASC_KEY_ID": request.key_id}
    if request.issuer_id:
        variables["ASC_ISSUER_ID"] = request.issuer_id
    variables["ASC_PRIVATE_KEY_PATH"] = key_path
    variables["XCTOKEN_KEY_TYPE"] = request.key_type.value
    variables["XCTOKEN_AUDIENCE"] = request.audience
    variables["XCTOKEN_LIFETIME"] = str(request.lifetime)
    if request.clock_skew != DEFAULT_CLOCK_SKEW:
        variables["XCTOKEN_CLOCK_SKEW"] = str(request.clock_skew)
    if request.scope:
        variables["XCTOKEN_SCOPE"] = "\n".join(request.scope)
    return variables


def _service_variables(request: ServiceRequest, key_path: str) -> dict[str, str]:
    variables = {"ASC_KEY_ID": request.key_id, "ASC_PRIVATE_KEY_PATH": key_path, "XCTOKEN_SERVICE": request.service}
    for name in ("issuer_id", "team_id", "client_id", "bundle_id", "services_id"):
        value = getattr(request, name)
        if value:
            variables["ASC_ISSUER_ID" if name == "issuer_id" else "XCTOKEN_" + name.upper()] = value
    if request.profile.lifetime.counted_from != "none":
        variables["XCTOKEN_LIFETIME"] = str(request.lifetime)
    if request.clock_skew != DEFAULT_CLOCK_SKEW:
        variables["XCTOKEN_CLOCK_SKEW"] = str(request.clock_skew)
    if request.scope:
        variables["XCTOKEN_SCOPE"] = "\n".join(request.scope)
    if request.origin:
        variables["XCTOKEN_ORIGIN"] = "\n".join(request.origin)
    return variables


@dataclass(frozen=True)
class Tool:
    """One tool's own variables, as templates over :class:`KeySetup` fields.

    A variable whose template names the issuer is left out for individual keys.
    ``source`` says where the names were read, so they can be checked again.
    """

    name: str
    title: str
    variables: Mapping[str, str]
    source: str
    needs_json: bool = False


# Each tool's variable names, read in its own source (the citation in `source`, at the
# commit named there) on 2026-12-01. Only paths are exported, never the key's content:
# the key stays in one file.
TOOLS: dict[str, Tool] = {tool.name: tool for tool in (
    Tool("fastlane", "fastlane: the app_store_connect_api_key action, every api_key_path option "
                     "(pilot, deliver, match, sigh, cert, precheck), Spaceship", {
        "APP_STORE_CONNECT_API_KEY_KEY_ID": "{key_id}",
        "APP_STORE_CONNECT_API_KEY_ISSUER_ID": "{issuer_id}",
        "APP_STORE_CONNECT_API_KEY_KEY_FILEPATH": "{key_path}",
        "APP_STORE_CONNECT_API_KEY_IN_HOUSE": "{in_house}",
        # The tools' api_key_path takes fastlane's JSON (key_id, issuer_id, key, ...), not the .p8.
        "APP_STORE_CONNECT_API_KEY_PATH": "{api_key_json}",
        "SPACESHIP_CONNECT_API_KEY_ID": "{key_id}",
        "SPACESHIP_CONNECT_API_ISSUER_ID": "{issuer_id}",
        "SPACESHIP_CONNECT_API_KEY_FILEPATH": "{key_path}",
        "SPACESHIP_CONNECT_API_IN_HOUSE": "{in_house}",
    }, source="fastlane/fastlane@d5347690: fastlane/lib/fastlane/actions/app_store_connect_api_key.rb "
              "L55-90; pilot/lib/pilot/options.rb L15-29 (APP_STORE_CONNECT_API_KEY_PATH, a JSON file); "
              "spaceship/lib/spaceship/connect_api/token.rb L38-76 (from_json_file, create)",
       needs_json=True),
    Tool("altool", "altool and notarytool's altool-era workflows (xcrun altool --upload-app)", {
        "API_PRIVATE_KEYS_DIR": "{keys_dir}",
    }, source="Apple's altool is closed source; fastlane/fastlane@d5347690 "
              "fastlane_core/lib/fastlane_core/itunes_transporter.rb L330-365 runs "
              "API_PRIVATE_KEYS_DIR=<dir holding AuthKey_<KEYID>.p8> xcrun altool"),
    Tool("eas", "Expo EAS CLI (eas build / eas submit)", {
        "EXPO_ASC_API_KEY_PATH": "{key_path}",
        "EXPO_ASC_KEY_ID": "{key_id}",
        "EXPO_ASC_ISSUER_ID": "{issuer_id}",
    }, source="expo/eas-cli@790231ea: packages/eas-cli/src/credentials/ios/appstore/resolveCredentials.ts "
              "L30-94"),
    Tool("electron", "electron-builder (notarization through @electron/notarize)", {
        "APPLE_API_KEY": "{key_path}",
        "APPLE_API_KEY_ID": "{key_id}",
        "APPLE_API_ISSUER": "{issuer_id}",
    }, source="electron-userland/electron-builder@8e95ad0e: "
              "packages/app-builder-lib/src/targets/mac/MacTargetHelper.ts L332-340 (getNotarizeOptions)"),
    Tool("tauri", "Tauri (tauri build: macOS notarization, iOS upload)", {
        "APPLE_API_ISSUER": "{issuer_id}",
        "APPLE_API_KEY": "{key_id}",  # the key ID here, a path for electron-builder
        "APPLE_API_KEY_PATH": "{key_path}",
    }, source="tauri-apps/tauri@a8105ecc: crates/tauri-bundler/src/bundle/macos/sign.rs L79-129 "
              "(notarize_auth); crates/tauri-cli/src/mobile/ios/build.rs L416-434"),
    Tool("codemagic", "Codemagic CLI tools (app-store-connect)", {
        "APP_STORE_CONNECT_ISSUER_ID": "{issuer_id}",
        "APP_STORE_CONNECT_KEY_IDENTIFIER": "{key_id}",
        "APP_STORE_CONNECT_PRIVATE_KEY": "@file:{key_path}",
    }, source="codemagic-ci-cd/cli-tools@139170ec: src/codemagic/tools/app_store_connect/arguments.py "
              "L72-93; src/codemagic/cli/argument/typed_cli_argument.py L203-228 (@file:)"),
    Tool("asc", "the asc CLI (rorkai/App-Store-Connect-CLI)", {
        "ASC_KEY_ID": "{key_id}",
        "ASC_ISSUER_ID": "{issuer_id}",
        "ASC_PRIVATE_KEY_PATH": "{key_path}",
    }, source="rorkai/App-Store-Connect-CLI@3ebcd22e: internal/cli/shared/shared.go L377-400, L829-854"),
)}
_SEPARATORS = re.compile(r"[\s,]+")


def parse_tools(text: str) -> tuple[str, ...]:
    """The ``export-for`` input: tool names separated by commas, spaces or lines."""
    names = [n.strip().lower() for n in _SEPARATORS.split(text) if n.strip()]
    unknown = [n for n in names if n not in TOOLS]
    if unknown:
        shown = unknown[0] if re.fullmatch(r"[a-z0-9._-]{1,20}", unknown[0]) else "(not shown)"
        raise ConfigError(f"export-for: unknown tool {shown}; use any of: {', '.join(TOOLS)}")
    chosen = tuple(dict.fromkeys(names))
    _refuse_clashes(chosen)
    return chosen


def _refuse_clashes(names: Iterable[str]) -> None:
    owners: dict[str, str] = {}
    for name in names:
        for variable, template in TOOLS[name].variables.items():
            other = owners.setdefault(variable, name)
            if other != name and TOOLS[other].variables[variable] != template:
                raise ConfigError(f"export-for: {other} and {name} both read {variable} but mean different "
                                  f"things by it; export for one of them in this job")


def tool_variables(names: Iterable[str], setup: KeySetup) -> dict[str, str]:
    values = {"key_id": setup.key_id, "issuer_id": setup.issuer_id or "", "key_path": setup.key_path,
              "keys_dir": setup.keys_dir, "api_key_json": setup.api_key_json,
              "in_house": "true" if setup.in_house else "false"}
    variables: dict[str, str] = {}
    for name in names:
        for variable, template in TOOLS[name].variables.items():
            if "{issuer_id}" in template and setup.issuer_id is None:
                continue
            variables[variable] = template.format(**values)
    return variables


# -- launchers -----------------------------------------------------------------

# What the image's xctoken may need from a later step's environment, passed by name
# (`docker run -e NAME` copies the value, and only when it is set): the runner's own
# variables, every variable xctoken.settings reads, and the cache directory.
_RUNNER_VARIABLES = ("GITHUB_ACTIONS", "CI", "RUNNER_TEMP", "RUNNER_DEBUG", "GITHUB_ENV", "GITHUB_OUTPUT",
                     "GITHUB_PATH", "GITHUB_STEP_SUMMARY", "XCTOKEN_CACHE_DIR", "API_PRIVATE_KEYS_DIR")


def forwarded_variables() -> list[str]:
    from .settings import ENV_VARIABLES

    names = list(_RUNNER_VARIABLES)
    names += [name for candidates in ENV_VARIABLES.values() for _, name in candidates]
    return list(dict.fromkeys(names))


# The checkout's entry point, next to this package: the launchers run it, not an
# `xctoken` found on PATH, so later steps run the very code that configured them.
OWN_ENTRYPOINT = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "entrypoint.py")


def python_launcher(python: str, entrypoint: str = OWN_ENTRYPOINT) -> str:
    """A POSIX sh ``xctoken`` that runs this venv's Python on the action's own code."""
    return (
        "#!/bin/sh\n"
        "# xctoken for the later steps of this job, written by the xctoken action:\n"
        "# the action's own venv and code, isolated from the step's PYTHON* variables.\n"
        f"exec {shlex.quote(python)} -I {shlex.quote(entrypoint)} xctoken \"$@\"\n"
    )


def windows_launcher(python: str, entrypoint: str = OWN_ENTRYPOINT) -> str:
    """``xctoken.cmd`` for cmd and PowerShell steps on Windows runners."""
    return f'@"{python}" -I "{entrypoint}" xctoken %*\r\n'


_IMAGE_ID = re.compile(r"sha256:[0-9a-f]{64}")


def docker_launcher(image_id: str) -> str:
    """A POSIX sh ``xctoken`` that runs the container action's image as the step's user.

    - by image ID, so a re-tagged or re-pulled image cannot be swapped in;
    - ``--pull=never``: the image is on this machine (the action ran from it);
    - ``--log-driver=none``: the printed token is not kept in Docker's log files;
    - values travel in the environment (``-e NAME``), never on the command line;
    - RUNNER_TEMP (key file, cache, file commands) and the working directory are
      mounted at their own paths, so every path means the same inside.
    """
    if not _IMAGE_ID.fullmatch(image_id):
        raise ValueError("not a Docker image ID")
    forwarded = " ".join(f"-e {name}" for name in forwarded_variables())
    return f"""#!/bin/sh
# xctoken for the later steps of this job, written by the xctoken container action.
# It runs the action's own image ({image_id[:19]}...) as this step's user.
image={image_id}
if ! command -v docker >/dev/null 2>&1; then
    echo "xctoken: error: this step has no docker command, and the container action's xctoken" \
         "runs in its image; in a job container (container:) use the portable action" \
         "(xctoken/xctoken-action/portable) or install xctoken with pip" >&2
    exit 127
fi
if [ -z "${{RUNNER_TEMP:-}}" ]; then
    echo "xctoken: error: RUNNER_TEMP is not set; run xctoken as a step of the job the action configured" >&2
    exit 127
fi
set -- --rm -i --pull=never --log-driver=none --user "$(id -u):$(id -g)" \\
    {forwarded} \\
    -v "$RUNNER_TEMP:$RUNNER_TEMP" "$image" xctoken "$@"
if [ "$PWD" != "$RUNNER_TEMP" ] && [ "$PWD" != "/" ]; then
    set -- -v "$PWD:$PWD" -w "$PWD" "$@"
fi
exec docker run "$@"
"""

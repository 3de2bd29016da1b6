"""The ``xctoken`` command: the only place that prints, reads ``sys.argv`` or exits.

Every expected failure is an :class:`~xctoken.errors.XctokenError`; ``main``
turns it into one line on stderr and the exit code documented in the README.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import time
from collections.abc import Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, BinaryIO, NoReturn, TextIO

from . import __version__
from .claims import DEFAULT_CLOCK_SKEW, DEFAULT_LIFETIME, KEY_ID_PATTERN
from .console import guard_process, inert, printable, reaches_the_log, settle_streams
from .errors import EXIT_CODES, ConfigError, OutputError, TokenExpiredError, TokenInvalidError, XctokenError
from .files import check_output_path, write_secret_file
from .settings import KeyLocation, Options, Resolved, resolve
from .signing import Signer, Token, iso8601

if TYPE_CHECKING:
    import argparse

    from .inspection import TokenReport

DEFAULT_VARIABLE = "APP_STORE_CONNECT_TOKEN"


def _add_key_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("credentials (flags win over environment variables)")
    group.add_argument("--key-id", metavar="ID", help="10-character key ID (env: ASC_KEY_ID, KEY_ID)")
    group.add_argument("--issuer-id", metavar="UUID", help="issuer ID for team keys (env: ASC_ISSUER_ID, ISSUER_ID)")
    group.add_argument("--key-type", choices=("team", "individual"),
                       help="team (default: iss claim) or individual (sub: user)")
    group.add_argument("-k", "--key", dest="key_path", metavar="PATH",
                       help="the .p8 key file, or '-' to read it from stdin (env: ASC_PRIVATE_KEY_PATH)")
    group.add_argument("--key-dir", metavar="DIR", help="directory holding AuthKey_<KEYID>.p8 (env: KEY_DIR)")
    group.add_argument("--key-env", metavar="NAME",
                       help="name of an environment variable holding the key (PEM or base64)")


def _add_token_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("token")
    group.add_argument("--lifetime", metavar="DURATION",
                       help=f"exp - iat: seconds or Nm/Nh/Nd (default {DEFAULT_LIFETIME}, the maximum "
                            "without a long-lived scope)")
    group.add_argument("--clock-skew", metavar="DURATION",
                       help=f"back-date iat by this much, within the lifetime (default {DEFAULT_CLOCK_SKEW})")
    group.add_argument("--scope", action="append", default=[], metavar="'METHOD /path'",
                       help="restrict the token to one request; repeat for more")
    group.add_argument("--audience", metavar="AUD", help="override the aud claim")
    group.add_argument("--enterprise", action="store_true",
                       help="Enterprise Program API audience (apple-developer-enterprise-v1)")
    _add_service_options(parser)


def _add_service_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("other Apple services ('xctoken services' lists them)")
    group.add_argument("--service", metavar="NAME",
                       help="the service the token is for (default app-store-connect; env: XCTOKEN_SERVICE)")
    group.add_argument("--team-id", metavar="ID", help="10-character Team ID (env: XCTOKEN_TEAM_ID)")
    group.add_argument("--client-id", metavar="ID",
                       help="Sign in with Apple Services/App ID, or a BUSINESSAPI./SCHOOLAPI./SEARCHADS. client ID "
                            "(env: XCTOKEN_CLIENT_ID)")
    group.add_argument("--bundle-id", metavar="ID", help="App Store Server: the app's bundle ID, the bid claim "
                                                         "(env: XCTOKEN_BUNDLE_ID)")
    group.add_argument("--services-id", metavar="ID", help="WeatherKit: the Services ID (env: XCTOKEN_SERVICES_ID)")
    group.add_argument("--origin", action="append", default=[], metavar="ORIGIN",
                       help="MusicKit / Maps: a web origin the token may be used from; repeat for more "
                            "(env: XCTOKEN_ORIGIN, one per line)")


# A value argparse would quote back that could be a pasted key or token.
# A 16-character run with a digit, '+' or '/' is enough to count as a key fragment (the short
# last line of a PEM); option names (letters and hyphens) still show.
# (A pattern, not a compiled regex: only a usage error needs it.)
_LOOKS_LIKE_A_KEY = r"-----|\\n|[A-Za-z0-9+/=_-]{40,}|(?=[A-Za-z0-9+/=]*[0-9+/])[A-Za-z0-9+/=]{16,}"


def _parser_class() -> type[argparse.ArgumentParser]:
    # argparse (and the gettext, locale and shutil it brings in) is imported only when a
    # command line needs it: the plain `generate` lines of CI steps never do (see _plain_generate).
    import argparse

    class _Parser(argparse.ArgumentParser):
        """argparse whose usage errors are one line, like every other failure."""

        def error(self, message: str) -> NoReturn:
            # argparse quotes the offending value; when that is a key pasted in the wrong
            # place ("xctoken generate $KEY"), quoting it would print the key.
            if re.search(_LOOKS_LIKE_A_KEY, message):
                message = message.split(": ")[0] + ": (value not shown: it looks like a key or a token)"
            # argparse quotes what was typed (an unknown argument as is): escaped like every other line.
            self.exit(2, f"xctoken: error: {inert(' '.join(printable(message).split()))}; "
                         f"see '{self.prog} --help'\n")

    return _Parser


def build_parser() -> argparse.ArgumentParser:
    parser = _parser_class()(
        prog="xctoken",
        description="Mint, inspect and check App Store Connect API tokens and the other Apple ES256 JWTs.",
        epilog="exit codes: " + "; ".join(f"{code} {text}" for code, text in EXIT_CODES.items()),
    )
    parser.add_argument("--version", action="version", version=f"xctoken {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    generate = commands.add_parser("generate", help="print a fresh token")
    _add_key_options(generate)
    _add_token_options(generate)
    out = generate.add_argument_group("output")
    out.add_argument("--format", choices=("token", "json", "shell"), default="token",
                     help="token (default), json with the token's facts, or shell export lines")
    out.add_argument("-o", "--output", metavar="FILE", help="write to FILE (mode 0600, atomically) instead of stdout")
    out.add_argument("-n", "--no-newline", action="store_true", help="no newline after the token")
    out.add_argument("--export", metavar="NAME", nargs="?", const=DEFAULT_VARIABLE,
                     help=f"hand the token to later CI steps as NAME (default {DEFAULT_VARIABLE}), "
                          "masked where the CI can mask")
    out.add_argument("--ci", metavar="NAME", help="CI system for --export (default: detected; 'none' for stdout)")
    out.add_argument("--dotenv", metavar="FILE", help="GitLab: also append NAME=token to this dotenv report")
    out.add_argument("-v", "--verbose", action="store_true", help="say on stderr where each setting came from")
    cache = generate.add_argument_group("reuse (for polling loops)")
    cache.add_argument("--cache", action="store_true",
                       help="reuse the last token for the same key and settings while it has at least "
                            "--min-valid left (cached 0600 in RUNNER_TEMP on a runner, else the user's cache "
                            "directory; env: XCTOKEN_CACHE_DIR)")
    cache.add_argument("--min-valid", metavar="DURATION",
                       help="with --cache: the least time a reused token must have left (default 5m)")
    generate.set_defaults(run=run_generate)

    decode = commands.add_parser("decode", help="show a token's claims and check them against Apple's rules")
    decode.add_argument("token", metavar="TOKEN", help="the token, or '-' to read it from stdin (safer)")
    decode.add_argument("--json", action="store_true", help="print the report as JSON")
    decode.add_argument("--service", metavar="NAME",
                        help="check the rules of this service (default: recognized from the token)")
    decode.add_argument("--expires-within", metavar="DURATION",
                        help="fail (exit 6) if the token expires within DURATION (like 30d): for alerts "
                             "before a stored secret, such as a Sign in with Apple client secret, lapses")
    _add_key_options(decode)
    decode.set_defaults(run=run_decode)

    doctor = commands.add_parser("doctor", help="ask Apple once whether it accepts the credentials, and why not")
    _add_key_options(doctor)
    _add_token_options(doctor)
    doctor.add_argument("--api-base", metavar="URL",
                        help="send the request to this base URL instead of Apple's (a proxy, a test server): "
                             "https, or http on a loopback address (env: XCTOKEN_API_BASE)")
    doctor.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")
    doctor.set_defaults(run=run_doctor)

    services = commands.add_parser("services", help="list the Apple services xctoken signs tokens for")
    services.set_defaults(run=run_services)

    check = commands.add_parser("check", help="check the configuration offline, without printing a token")
    _add_key_options(check)
    _add_token_options(check)
    check.set_defaults(run=run_check)
    return parser


def _options(args: argparse.Namespace) -> Options:
    return Options(
        key_id=args.key_id, issuer_id=args.issuer_id, key_path=args.key_path, key_dir=args.key_dir,
        key_env=args.key_env, key_type=args.key_type,
        audience=getattr(args, "audience", None), enterprise=getattr(args, "enterprise", False),
        lifetime=getattr(args, "lifetime", None), clock_skew=getattr(args, "clock_skew", None),
        scope=getattr(args, "scope", ()), service=getattr(args, "service", None),
        team_id=getattr(args, "team_id", None), client_id=getattr(args, "client_id", None),
        bundle_id=getattr(args, "bundle_id", None), services_id=getattr(args, "services_id", None),
        origin=getattr(args, "origin", ()),
    )


def _say(stream: TextIO | None, prefix: str, message: str) -> None:
    # One line per message, whatever a path or value in it holds: a line break or terminal
    # escape in it shows escaped ("\n", "\u001b") before the runs of spaces are collapsed.
    if stream is None:  # stderr closed by the caller (2>&-): the exit code still tells
        return
    line = inert(" ".join(printable(message).split()))
    try:
        stream.write(f"xctoken: {prefix}{line}\n")
        stream.flush()
    except (OSError, ValueError):
        pass  # stderr cannot take it (2>/dev/full): the exit code still tells


def format_token(token: Token, fmt: str, name: str, newline: bool) -> str:
    if fmt == "json":
        text = json.dumps({"token": token.value, **token.summary()}, indent=2)
    elif fmt == "shell":
        import shlex

        text = (f"export {name}={shlex.quote(token.value)}\n"
                f"export {name}_EXPIRES_AT={shlex.quote(iso8601(token.expires_at))}")
    else:
        text = token.value
    return text + "\n" if newline else text


def _check_delivery_options(args: argparse.Namespace) -> None:
    """Refuse an empty --output, --dotenv or --ci, and key text given as a path, before anything is read.

    ``--output "$TOKEN_FILE"`` with the variable unset arrives as ``--output ''``:
    taken as "not given", it would print the token into the job log.
    """
    fixes = {"--output": "name the file, or leave out --output to print the token on standard output",
             "--dotenv": "name the dotenv report file, or leave out --dotenv",
             "--ci": "name the CI (like github, gitlab or none), or leave out --ci to detect it"}
    for flag, value in (("--output", args.output), ("--dotenv", args.dotenv), ("--ci", args.ci)):
        if value is not None and not value.strip():
            raise ConfigError(f"{flag} is empty (an unset variable?); {fixes[flag]}")
    for flag, value in (("--output", args.output), ("--dotenv", args.dotenv)):
        if value is not None:
            check_output_path(value, flag)


def _file_identity(info: os.stat_result) -> tuple[int, int] | None:
    return (info.st_dev, info.st_ino) if stat.S_ISREG(info.st_mode) else None


def _key_file_identity(location: KeyLocation) -> tuple[int, int] | None:
    """(st_dev, st_ino) of the file the key was read from: the key file, or the file on stdin (``--key - < FILE``)."""
    try:
        if location.kind == "stdin":
            return _file_identity(os.fstat(0))
        if location.path is not None:
            return _file_identity(os.stat(location.path))
    except OSError:
        pass
    return None


def _refuse_writing_over_the_key(location: KeyLocation, target: str | None, flag: str) -> None:
    """Refuse an --output or --dotenv that is the key file itself, named or redirected to stdin.

    Apple keeps no copy of a .p8 key: writing the token over it (or into it) would
    destroy the key for good, and a revoked key means new secrets everywhere.
    """
    if not target:
        return
    if target.strip() == "-" and flag == "--output":
        raise ConfigError(f"{flag} - would create a file named '-'; leave out {flag} to print the token "
                          "on standard output")
    key = _key_file_identity(location)
    if key is None:
        return
    try:
        same = _file_identity(os.stat(target)) == key
    except OSError:  # the target does not exist yet: it cannot be the key
        same = False
    if same:
        via = " (standard input reads it)" if location.kind == "stdin" else ""
        raise ConfigError(f"{flag} names the private key file itself{via}; writing the token there would destroy "
                          "the key (Apple keeps no copy of it): write the token to another file")


def run_generate(args: argparse.Namespace) -> int:
    _check_delivery_options(args)
    resolved = resolve(_options(args), os.environ, _stdin_buffer() if args.key_path == "-" else None)
    _refuse_writing_over_the_key(resolved.location, args.output, "--output")
    _refuse_writing_over_the_key(resolved.location, args.dotenv, "--dotenv")
    for warning in resolved.warnings:
        _say(sys.stderr, "warning: ", warning)
    if args.verbose:
        for setting, source in resolved.sources.items():
            _say(sys.stderr, "", f"{setting.replace('_', ' ')} from {source}")
        _say(sys.stderr, "", f"key: {resolved.key.form.describe()}, {resolved.location.describe()}")
    # An explicit empty --export '' is an error (caught by the name check), not the default.
    variable = DEFAULT_VARIABLE if args.export is None else args.export
    exporting = args.export is not None or args.ci is not None or args.dotenv is not None
    if exporting and args.format != "token":
        raise ConfigError(f"--format {args.format} shapes what is printed; --export hands the token over "
                          "itself: drop one of them")
    token = _token(Signer(resolved.request, resolved.key), args)
    if exporting:
        from .ci import export_token  # only CI runs pay for the adapters

        for line in export_token(token, name=variable, ci=args.ci,
                                 dotenv=args.dotenv, env=os.environ, key=resolved.key,
                                 output=args.output):
            _say(sys.stderr, "", line)
        return 0
    if os.environ.get("GITHUB_ACTIONS") == "true":
        mask_on_github(token, printing=not args.output)
    text = format_token(token, args.format, variable, not args.no_newline)
    if args.output:
        path = write_secret_file(args.output, text, origin="--output")
        _say(sys.stderr, "", f"token written to {path}, valid until {iso8601(token.expires_at)}")
        return 0
    write_stdout(text)
    return 0


def _token(signer: Signer, args: argparse.Namespace) -> Token:
    """A new token, or with --cache the cached one while it has --min-valid left."""
    if not args.cache:
        if args.min_valid is not None:
            raise ConfigError("--min-valid applies only with --cache; add --cache or drop --min-valid")
        return signer.sign()
    from .cache import cached_or_new, parse_min_valid, refuse_single_use

    refuse_single_use(signer)
    min_valid = parse_min_valid(args.min_valid, signer)
    token, warnings = cached_or_new(signer, os.environ, min_valid, int(time.time()))
    for warning in warnings:
        _say(sys.stderr, "warning: ", warning)
    return token


def mask_on_github(token: Token, printing: bool) -> None:
    """Register the token with the GitHub runner before it is printed or captured.

    The runner reads workflow commands on stderr as well as stdout (actions/runner
    ScriptHandler), so the mask goes to stderr: ``TOKEN=$(xctoken generate)``
    captures only the token, and every later print of it shows ``***``.
    """
    from .ci.github import add_masks

    if not reaches_the_log(sys.stderr):
        # Never the fallback to stdout: that is what `$(...)` captures.
        raise OutputError("standard error is closed or /dev/null, and on a GitHub runner the token's mask "
                          "goes there; drop the 2>/dev/null (or 2>&-), or use --export; nothing was printed")
    try:
        add_masks([token.value], sys.stderr)
    except OutputError as error:  # installed without the github extra: say so, deliver anyway
        _say(sys.stderr, "warning: ", f"the token is not masked in this job's log: {error}")
        return
    except (OSError, ValueError):
        raise OutputError("cannot write the token's mask to standard error, so the runner would show the "
                          "token; nothing was printed") from None
    if printing:
        # stdout and stderr are read by separate threads of the runner: give the
        # mask a head start over a token printed straight into the log.
        time.sleep(0.1)


def write_stdout(text: str) -> None:
    if sys.stdout is None:  # closed by the caller (>&-): Python sets it to None
        raise OutputError("standard output is closed; redirect it to a file or pass --output FILE")
    try:
        sys.stdout.write(inert(text))
        sys.stdout.flush()
    except OSError as error:
        # The reader went away (`| head -c 1`) or the device is full (> /dev/full):
        # drop what is buffered so Python does not complain again at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        if isinstance(error, BrokenPipeError):
            raise OutputError("standard output was closed before the token was written") from None
        raise OutputError(f"cannot write to standard output: {error.strerror or type(error).__name__}") from None


def _stdin_buffer() -> BinaryIO | None:
    # None when the caller closed stdin (<&-): settings then says none is available.
    return sys.stdin.buffer if sys.stdin is not None else None


def _read_token_argument(value: str) -> str:
    if value.strip() != "-":
        return value
    stdin = _stdin_buffer()
    if stdin is None:
        raise TokenInvalidError("no token given: standard input is closed; pipe the token to 'decode -'")
    # Bytes, decoded leniently: a binary paste is "not a JWT", not a crash.
    return stdin.read(64 * 1024 + 1).decode("utf-8", "replace")


def _key_in_environment() -> bool:
    from .settings import ENV_VARIABLES, env_value

    return any(env_value(os.environ, name) for _, name in ENV_VARIABLES["key"])


def run_decode(args: argparse.Namespace) -> int:
    from .inspection import inspect_token

    if args.token.strip() == "-" and args.key_path == "-":
        raise ConfigError("the token and the key cannot both come from stdin; pass the key with --key PATH")
    within = None
    if getattr(args, "expires_within", None) is not None:
        from .claims import parse_duration

        within = parse_duration(args.expires_within, "--expires-within")  # refused before any report
    token_text = _read_token_argument(args.token)
    public_key, not_verified = None, "no key was given"
    header_kid = _peek_kid(token_text)
    # Only a well-formed kid picks the key file: a malformed one is the report's to flag
    # ("kid is a 10-character key ID"), not a configuration error about a key ID never given.
    well_formed_kid = bool(header_kid and KEY_ID_PATTERN.fullmatch(header_kid))
    named_by_flag = bool(args.key_path or args.key_dir or args.key_env)
    if named_by_flag or well_formed_kid or _key_in_environment():
        from .errors import KeyNotFoundError
        from .settings import resolve_key

        options = _options(args)
        if options.key_id is None and well_formed_kid:
            options = options._replace(key_id=header_kid)
        stdin = _stdin_buffer() if options.key_path == "-" else None
        try:
            public_key = resolve_key(options, os.environ, stdin).public_key()
        except KeyNotFoundError as missing:
            # A key named on the command line must exist. One found through the environment or
            # altool's directories (as generate finds it) is a convenience: without it the
            # report still says what it can, and why the signature was not checked.
            if named_by_flag:
                raise
            not_verified = str(missing)
    report = inspect_token(token_text, int(time.time()), public_key, getattr(args, "service", None))
    if args.json:
        from .inspection import strict_json

        # Strict JSON: a non-finite number (a claim like 1e400) is written as the string "Infinity".
        write_stdout(json.dumps(strict_json({
            "service": report.service, "header": report.header, "claims": report.claims, "valid": report.valid,
            "expired": report.expired, "seconds_left": report.seconds_left,
            "signature_verified": None if public_key is None else
            all(c.passed for c in report.checks if c.rule.startswith("signature verifies")),
            "checks": [{"rule": c.rule, "passed": c.passed, "detail": "" if c.passed else c.detail}
                       for c in report.checks],
        }), indent=2, allow_nan=False) + "\n")
    else:
        write_stdout(render_report(report, verified=public_key is not None, not_verified=not_verified) + "\n")
    if report.valid and within is not None:
        left = report.seconds_left
        if left is not None and left <= within:
            _say(sys.stderr, "error: ", f"the token expires in {left} s, within --expires-within "
                                        f"{args.expires_within}: mint and store a new one")
            return TokenExpiredError.exit_code
    if report.valid:
        return 0
    only_expiry = all(c.rule == "not expired" for c in report.failures)
    error = TokenExpiredError if only_expiry else TokenInvalidError
    problem = "has expired; mint a new one" if only_expiry else \
        f"breaks {len(report.failures)} of Apple's rules; see the checks above"
    _say(sys.stderr, "error: ", f"the token {problem}")
    return error.exit_code


def _peek_kid(token_text: str) -> str | None:
    from .inspection import split_token

    try:
        kid = split_token(token_text)[0].get("kid")
    except XctokenError:
        return None
    return kid if isinstance(kid, str) else None


def _relative(seconds: int) -> str:
    size = abs(seconds)
    text = f"{size} s" if size < 120 else f"{size // 60} min" if size < 7200 else f"{size // 3600} h"
    return f"in {text}" if seconds > 0 else f"{text} ago"


def render_report(report: TokenReport, verified: bool, not_verified: str = "no key was given") -> str:
    from datetime import datetime, timezone

    service = report.service + (f" (or {', '.join(report.also)}: the same token shape; --service picks)"
                                if report.also else "")
    lines = [f"service: {service}", f"header: {json.dumps(report.header)}", f"claims: {json.dumps(report.claims)}"]
    ends = {"iat": report.claims.get("iat"), "exp": report.claims.get("exp", report.valid_until)}
    for claim, label in (("iat", "issued at"), ("exp", "expires at" if "exp" in report.claims else "valid until")):
        value = ends[claim]
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**40:
            moment = iso8601(datetime.fromtimestamp(value, tz=timezone.utc))
            lines.append(f"{label}: {moment} ({_relative(value - report.now)})")
    lines.append("checks:")
    for check in report.checks:
        lines.append(f"  {'ok  ' if check.passed else 'FAIL'}  {check.rule}"
                     + ("" if check.passed else f": {check.detail}"))
    if not verified:
        lines.append(f"  note  signature not verified: {not_verified}")
    for name, rules in report.look_alike_failures.items():
        lines.append(f"  note  as a {name} token it breaks: {'; '.join(rules)} (--service {name} checks that)")
    if verified:
        lines.append("result: " + ("valid" if report.valid else "INVALID"))
    else:
        # Without a key only the shape is checked: "valid" alone would read as "Apple accepts it".
        kid = report.header.get("kid")
        key_file = f"AuthKey_{kid if isinstance(kid, str) and KEY_ID_PATTERN.fullmatch(kid) else '<KEYID>'}.p8"
        how = f"--key {key_file}, --key-dir DIR, --key-env NAME or the ASC_* variables"
        lines.append("result: " + ("valid by Apple's rules, but the signature is NOT verified"
                                   if report.valid else "INVALID (and the signature is not verified)")
                     + f": pass the key to verify it ({how})")
    return "\n".join(printable(line) for line in lines)  # a value's own line break stays on its line


def run_doctor(args: argparse.Namespace) -> int:
    from .doctor import AppleUnreachable, CredentialsRefused, diagnose

    resolved = resolve(_options(args), os.environ, _stdin_buffer() if args.key_path == "-" else None)
    for warning in resolved.warnings:
        _say(sys.stderr, "warning: ", warning)
    diagnosis = diagnose(resolved.request, resolved.key, args.api_base or os.environ.get("XCTOKEN_API_BASE") or None)
    if args.format == "json":
        write_stdout(json.dumps(diagnosis.as_json(), indent=2) + "\n")
    else:
        answer = "no answer" if diagnosis.status is None else " ".join(
            part for part in (str(diagnosis.status), diagnosis.error_code,
                              f"({diagnosis.error_title})" if diagnosis.error_title else "") if part)
        lines = [f"service:  {diagnosis.service}", f"request:  {diagnosis.method} {diagnosis.url}",
                 f"          ({diagnosis.why})",
                 f"answer:   {answer}" + (f" [{diagnosis.network_error}]" if diagnosis.network_error else "")]
        if diagnosis.clock_offset is not None:
            offset = diagnosis.clock_offset
            lines.append("clock:    " + ("in step with Apple's" if abs(offset) <= 2 else
                                         f"this machine is {abs(offset)} s {'behind' if offset > 0 else 'ahead of'} "
                                         "Apple's (from its Date header)"))
        lines.append("result:   " + ("ACCEPTED: Apple accepts these credentials" if diagnosis.accepted else
                                     "REFUSED" if diagnosis.refused else "COULD NOT ASK"))
        if diagnosis.causes:
            lines.append("likely causes, most likely first:")
            lines += [f"  {n}. {cause}" for n, cause in enumerate(diagnosis.causes, 1)]
        write_stdout("".join(printable(line) + "\n" for line in lines))
    if diagnosis.accepted:
        return 0
    return (CredentialsRefused if diagnosis.refused else AppleUnreachable).exit_code


def run_services(args: argparse.Namespace) -> int:
    from .services import profiles

    lines = [profile.summary_line() for profile in profiles()]
    lines.append("")
    lines.append("xctoken generate --service NAME ...; docs/services.md says what each needs")
    write_stdout("\n".join(lines) + "\n")
    return 0


def _request_lines(resolved: Resolved) -> list[str]:
    """What ``check`` says about the request (App Store Connect, or another service's inputs)."""
    from .claims import TokenRequest

    request = resolved.request
    sources = resolved.sources
    lines = [f"key ID:     {request.key_id} (from {sources.get('key_id', 'default')})"]
    if isinstance(request, TokenRequest):
        lines.append(f"key type:   {request.key_type.value}")
        if request.issuer_id:
            lines.append(f"issuer ID:  {request.issuer_id} (from {sources.get('issuer_id')})")
        lines += [f"key:        {resolved.location.describe()}", f"key format: {resolved.key.form.describe()}",
                  f"audience:   {request.audience}",
                  f"lifetime:   {request.lifetime} s, iat back-dated {request.clock_skew} s"]
        lines += [f"scope:      {entry}" for entry in request.scope]
        return lines
    from .services import INPUTS

    profile = request.profile
    lines.insert(0, f"service:    {profile.name} ({profile.title})")
    for name in INPUTS:
        value = getattr(request, name)
        if value:
            shown = " ".join(value) if isinstance(value, tuple) else value
            lines.append(f"{name.replace('_', ' ') + ':':<11} {shown} (from {sources.get(name, '--' + name)})")
    lines += [f"key:        {resolved.location.describe()}", f"key format: {resolved.key.form.describe()}"]
    if profile.lifetime.counted_from == "none":
        lines.append(f"lifetime:   no exp claim; Apple accepts it {request.lifetime} s after iat")
    else:
        lines.append(f"lifetime:   {request.lifetime} s, iat back-dated {request.clock_skew} s")
    return lines


def run_check(args: argparse.Namespace) -> int:
    from .inspection import inspect_token
    from .settings import families_used, key_file_exposure

    resolved = resolve(_options(args), os.environ, _stdin_buffer() if args.key_path == "-" else None)
    request = resolved.request
    lines = _request_lines(resolved)
    families = families_used(resolved.sources)
    if len(families) > 1:
        resolved.warnings.append("settings come from more than one family of variables ("
                                 + ", ".join(families) + "); keep to one to avoid surprises")
    if resolved.location.path is not None:
        exposure = key_file_exposure(resolved.location.path)
        if exposure:
            resolved.warnings.append(exposure)
    # Sign and verify a token in memory to prove the key works; it is never shown.
    probe = Signer(request, resolved.key).sign()
    report = inspect_token(probe.value, int(time.time()), resolved.key.public_key())
    lines.append("self-test:  " + ("a token signed and verified in memory" if report.valid
                                   else "FAILED: " + "; ".join(c.rule for c in report.failures)))
    write_stdout("".join(printable(line) + "\n" for line in lines))  # a path's line break stays on its line
    for warning in resolved.warnings:
        _say(sys.stderr, "warning: ", warning)
    return 0 if report.valid else TokenInvalidError.exit_code


# `xctoken generate` read without argparse. CI steps run it with a few plain options, many
# times a job, and argparse with what it imports (gettext, locale, shutil) and the parser it
# builds is about a tenth of the command's start. Only the plainest command lines are read
# here: each option by its full name (or -k, -o, -n, -v) followed by its value, or as
# --name=value; a value that does not start with "-" (or is "-" itself, stdin); flags without
# a value. Anything else (--help, an abbreviation, --export, -kFILE, a value starting with
# "-", "--", an unknown word, a value outside the choices) goes to argparse, which reads it
# the same way or reports the error. tests/core/test_imports.py checks this table against the
# parser, and both readings of many command lines against each other.
_GENERATE_VALUES = {
    "--key-id": "key_id", "--issuer-id": "issuer_id", "--key-type": "key_type", "-k": "key_path",
    "--key": "key_path", "--key-dir": "key_dir", "--key-env": "key_env", "--lifetime": "lifetime",
    "--clock-skew": "clock_skew", "--audience": "audience", "--service": "service", "--team-id": "team_id",
    "--client-id": "client_id", "--bundle-id": "bundle_id", "--services-id": "services_id",
    "--format": "format", "-o": "output", "--output": "output", "--ci": "ci", "--dotenv": "dotenv",
    "--min-valid": "min_valid",
}
_GENERATE_LISTS = {"--scope": "scope", "--origin": "origin"}
_GENERATE_FLAGS = {"--enterprise": "enterprise", "-n": "no_newline", "--no-newline": "no_newline",
                   "-v": "verbose", "--verbose": "verbose", "--cache": "cache"}
_GENERATE_CHOICES = {"key_type": ("team", "individual"), "format": ("token", "json", "shell")}
_GENERATE_DEFAULTS: dict[str, object] = {"format": "token", "export": None}


def _plain_generate(argv: Sequence[str]) -> SimpleNamespace | None:
    """The parsed arguments of a plain ``generate`` command line, or None to let argparse parse it."""
    if not argv or argv[0] != "generate":
        return None
    values: dict[str, object] = {dest: None for dest in _GENERATE_VALUES.values()}
    lists: dict[str, list[str]] = {dest: [] for dest in _GENERATE_LISTS.values()}
    values.update({dest: False for dest in _GENERATE_FLAGS.values()})
    values.update(_GENERATE_DEFAULTS)
    index = 1
    while index < len(argv):
        word = argv[index]
        if word in _GENERATE_FLAGS:
            values[_GENERATE_FLAGS[word]] = True
            index += 1
            continue
        name, equals, value = word.partition("=")
        if equals and word.startswith("--") and value:
            index += 1
        elif not equals and index + 1 < len(argv):
            value = argv[index + 1]
            if value.startswith("-") and value != "-":
                return None  # argparse may read it as an option
            index += 2
        else:
            return None
        dest = _GENERATE_VALUES.get(name) or _GENERATE_LISTS.get(name)
        if dest is None or value not in _GENERATE_CHOICES.get(dest, (value,)):
            return None
        if dest in lists:
            lists[dest].append(value)
        else:
            values[dest] = value
    return SimpleNamespace(command="generate", run=run_generate, **values, **lists)


def main(argv: Sequence[str] | None = None) -> int:
    guard_process()
    try:
        return _main(argv)
    finally:
        settle_streams()


def _main(argv: Sequence[str] | None) -> int:
    if sys.stdout is not None and hasattr(sys.stdout, "reconfigure"):
        # A path or claim outside the locale's charset (LANG=C, PYTHONIOENCODING=ascii) is
        # shown escaped rather than ending the run; the token itself is ASCII.
        sys.stdout.reconfigure(errors="backslashreplace")
    arguments = sys.argv[1:] if argv is None else list(argv)
    args = _plain_generate(arguments) or build_parser().parse_args(arguments)
    if not getattr(args, "run", None):
        _say(sys.stderr, "error: ",
             "a command is needed: generate, decode, check, doctor or services; see 'xctoken --help'")
        return 2
    try:
        return int(args.run(args))
    except XctokenError as error:
        _say(sys.stderr, "error: ", str(error))
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return OutputError.exit_code
    except Exception as error:  # noqa: BLE001 - a bug must still not print key material
        _say(sys.stderr, "internal error: ", f"{type(error).__name__}; please report it (no details "
             "are shown because they could contain key material)")
        return 1

"""The one exception tree xctoken raises on purpose.

Every message is a single line that says what is wrong and how to fix it, and
never contains key material or a token: callers may print ``str(error)`` as is.
The exit codes are part of the CLI's documented interface (see README).
"""

from __future__ import annotations


class XctokenError(Exception):
    """Base class: catch this to handle every expected xctoken failure."""

    exit_code = 1


class ConfigError(XctokenError):
    """A setting is missing or malformed: key ID, issuer ID, lifetime, scope, audience."""

    exit_code = 3


class KeyLoadError(XctokenError):
    """The private key is missing, unreadable, or not an App Store Connect key."""

    exit_code = 4


class KeyNotFoundError(KeyLoadError):
    """No private key was given and none was found where tools look for one."""


class TokenInvalidError(XctokenError):
    """A token given to ``decode`` breaks one of Apple's rules or fails verification."""

    exit_code = 5


class TokenExpiredError(TokenInvalidError):
    """A token given to ``decode`` is well formed but expired (or not yet valid)."""

    exit_code = 6


class OutputError(XctokenError):
    """The token could not be delivered: stdout, an output file, or a CI system.

    One code for every CI: GitLab without ``--dotenv``, CircleCI without ``$BASH_ENV``,
    Bitrise without envman, ``--ci github`` off a runner all exit 7.
    """

    exit_code = 7


EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "internal error (a bug: please report it)",
    2: "usage error: unknown option or missing argument",
    ConfigError.exit_code: "configuration error: a setting is missing or malformed",
    KeyLoadError.exit_code: "private key error: missing, unreadable or not an App Store Connect key",
    TokenInvalidError.exit_code: "the decoded token breaks a rule or its signature does not verify",
    TokenExpiredError.exit_code: "the decoded token has expired",
    OutputError.exit_code: "the token could not be delivered (stdout, a file or the CI system)",
    8: "doctor: Apple refused the credentials (or the request they allow)",
    9: "doctor: could not ask Apple (network, proxy, TLS or DNS)",
    129: "stopped by SIGHUP (terminal closed); files made so far removed",
    130: "interrupted by SIGINT (Ctrl-C); files made so far removed",
    143: "stopped by SIGTERM (a cancelled CI job); files made so far removed",
}

"""TeamCity: ``##teamcity[setParameter name='env.NAME' value='...']`` on stdout.

TeamCity turns an ``env.`` parameter into an environment variable of every
later step of the build. It masks the values of password parameters defined in
the build configuration; that it masks a value set at run time is not
documented, so later steps must not print it. The record is written in one
``write()``.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..signing import iso8601
from . import ExportJob, check_name, check_value, write_stdout_record

TITLE = "TeamCity"
# TeamCity's own variables (env.BUILD_NUMBER, ...)
RESERVED_PREFIXES = ("TEAMCITY", "BUILD_")
_ESCAPES = {"|": "||", "'": "|'", "\n": "|n", "\r": "|r", "[": "|[", "]": "|]",
            "\u0085": "|x", "\u2028": "|l", "\u2029": "|p"}


def detect(env: Mapping[str, str]) -> bool:
    return bool(env.get("TEAMCITY_VERSION"))


def escape(text: str) -> str:
    """TeamCity service message escaping: | ' [ ] line breaks, and |0xNNNN for other non-ASCII."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) > 0x7F:
            out.append(f"|0x{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def set_parameter(name: str, value: str) -> str:
    return f"##teamcity[setParameter name='{escape('env.' + name)}' value='{escape(value)}']\n"


def export(job: ExportJob) -> list[str]:
    variables = job.variables()
    for name, value, _secret in variables:
        check_name(name, TITLE, RESERVED_PREFIXES)
        check_value(name, value, TITLE)
    write_stdout_record("".join(set_parameter(name, value) for name, value, _secret in variables))
    return [f"env.{job.name} set for later build steps, valid until {iso8601(job.token.expires_at)}; "
            "TeamCity may not mask a value set at run time: never print it"]

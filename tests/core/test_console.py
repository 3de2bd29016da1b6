"""console.printable and console.inert: what every line the CLI prints goes through."""

from __future__ import annotations

import json
import re

import pytest

from xctoken.console import inert, printable

# Everything a terminal or a CI log reader may act on: C0 (line breaks, ESC), DEL, C1 (NEL,
# CSI), the Unicode line and paragraph separators, bidi embeddings, overrides and isolates.
UNSAFE = ([chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7f, 0xa0)]
          + ["\u2028", "\u2029"] + [chr(c) for c in range(0x202a, 0x202f)] + [chr(c) for c in range(0x2066, 0x206a)])
# How the GitHub runner reads lines (StreamReader.ReadLine), and Python's wider idea of one.
RUNNER_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@pytest.mark.parametrize("char", UNSAFE, ids=lambda c: f"U+{ord(c):04X}")
def test_printable_escapes_every_character_a_terminal_or_runner_acts_on(char: str) -> None:
    shown = printable(f"/keys/a{char}::error::x")
    assert char not in shown and shown.isascii()
    assert len(shown.splitlines()) == 1 and len(RUNNER_LINE_BREAK.split(shown)) == 1
    assert json.loads(f'"{shown}"') == f"/keys/a{char}::error::x"  # JSON's escapes: it reads back


def test_printable_keeps_ordinary_text_and_other_unicode() -> None:
    assert printable("/Users/José/clés/AuthKey_2X9R4HXF34.p8") == "/Users/José/clés/AuthKey_2X9R4HXF34.p8"
    assert printable("a\nb\x1b[31mc") == "a\\nb\\u001b[31mc"
    assert printable(1200) == "1200"


@pytest.mark.parametrize("char", [c for c in UNSAFE if c != "\n"], ids=lambda c: f"U+{ord(c):04X}")
def test_inert_escapes_control_characters_but_the_lines_own_breaks(char: str) -> None:
    # The net under every line written: a value that escaped printable() still cannot act.
    text = inert(f"key: /k{char}::stop-commands::tok\nresult: valid\n")
    assert char not in text
    assert RUNNER_LINE_BREAK.split(text) == [f"key: /k{printable(char)}::stop-commands::tok", "result: valid", ""]


@pytest.mark.parametrize("hostile", [
    "##[stop-commands]x", "#\ufe0f#[stop-commands]x", "#\u200b#vso[task.setvariable variable=PATH]x",
    "#\u00ad\u2060#teamcity[x]", "###[x]", "#\u2066#[x]",
])
def test_inert_breaks_double_hashes_also_with_ignorable_characters_between(hostile: str) -> None:
    # The runner's culture-sensitive IndexOf("##[") skips characters of no weight, such as
    # U+FE0F (variation selector), U+200B (zero width space) or U+00AD (soft hyphen).
    text = inert(hostile)
    assert not re.search(r"#[^\x00-\x7f]*#", text), text
    assert json.loads(f'"{text}"') == hostile

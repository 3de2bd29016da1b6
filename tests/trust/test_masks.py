"""Masks cover the key the user really has, in the form they stored it.

The runner hides only what was registered. A later step that prints the key
(``cat AuthKey.p8``, ``echo "$ASC_PRIVATE_KEY_B64"``, a tool dumping its
config) must show nothing readable. The keys are Apple's layout (the inner
ECPrivateKey keeps its curve parameters: the body starts ``MIGTAgEA``) and
cryptography's (``MIGHAgEA``), each stored as PEM, as base64 of the file, with
literal ``\\n`` escapes and flattened onto one line; the masks come from a real
run of each masking sink, read back from its output as the runner would.
"""

from __future__ import annotations

import base64
import sys

import pytest

from .corpus import GOOD_ISSUER, GOOD_KEY_ID
from .entrypoints import Action, CliEnvGitHub, Workspace, action_available
from .leaks import Canary, registered_masks, unmasked_key_material

STORED_FORMS = {
    "pem": lambda pem: pem,
    "base64-of-file": lambda pem: base64.b64encode(pem.encode()).decode(),
    "base64-of-file-without-final-newline": lambda pem: base64.b64encode(pem.strip().encode()).decode(),
    "literal-backslash-n": lambda pem: pem.strip().replace("\n", "\\n"),
    "one-line": lambda pem: " ".join(pem.split("\n")).strip(),
}


def _azure(ws: Workspace, canary: Canary, settings: dict[str, str]):
    env = ws.base_env(TF_BUILD="True", ASC_PRIVATE_KEY=settings["key"], ASC_KEY_ID=GOOD_KEY_ID,
                      ASC_ISSUER_ID=GOOD_ISSUER)
    return ws.run([sys.executable, "-m", "xctoken", "generate", "--export"], env)


SINKS = {
    "action": lambda ws, canary, settings: Action().run(ws, canary, settings),
    "cli-export-github": lambda ws, canary, settings: CliEnvGitHub().run(ws, canary, settings),
    "cli-export-azure": _azure,
}


@pytest.mark.parametrize("layout", ["apple", "openssl"])
@pytest.mark.parametrize("form", sorted(STORED_FORMS))
@pytest.mark.parametrize("sink", sorted(SINKS))
def test_every_rendering_of_the_stored_key_is_masked(tmp_path, layout: str, form: str, sink: str) -> None:
    if sink == "action" and not action_available():
        pytest.skip("actions-toolkit is not installed")
    canary = Canary.new(layout)
    pem = canary.pem()
    assert pem.splitlines()[1].startswith("MIGTAgEA" if layout == "apple" else "MIGHAgEA")
    stored = STORED_FORMS[form](pem)
    capture = SINKS[sink](Workspace(tmp_path), canary, {"key": stored})
    assert capture.returncode == 0, capture.stderr
    masks = registered_masks(capture.stdout, capture.stderr)
    assert masks
    # What a later step could print: the value as stored, the .p8 file, its base64.
    whole = base64.b64encode(pem.encode()).decode()
    printed = [stored, pem, pem.replace("\n", "\r\n"), whole, base64.b64encode(pem.strip().encode()).decode(),
               "\n".join(whole[i:i + 76] for i in range(0, len(whole), 76))]  # GNU base64 FILE
    for text in printed:
        assert unmasked_key_material(text, masks, canary) == [], (form, text[:12])

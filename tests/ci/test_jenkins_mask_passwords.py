"""The Mask Passwords wrapper in examples/jenkins/Jenkinsfile (and in the Jenkins adapter's note)
is written the way the plugin documents it for Pipeline.

Source: github repository jenkinsci/mask-passwords-plugin, read at commit
162c9271515dbcb9c69250547f7e8351db02b27e (2026-05-30):
- src/test/java/com/michelin/cio/hudson/plugins/maskpasswords/MaskPasswordsWorkflowTest.java
  runs ``wrap([$class: 'MaskPasswordsBuildWrapper', varPasswordPairs: [[var: 'PASSWORD',
  password: 's3cr3t']]]) {...}`` and, with the step's symbol, ``maskPasswords(varPasswordPairs:
  [[var: 'PASSWORD', password: 's3cr3t']]) {...}``;
- MaskPasswordsBuildWrapper.java: ``@DataBoundConstructor VarPasswordPair(String var, Secret
  password)`` (a plain string is turned into a Secret by its DescriptorImpl), the wrapper's
  ``@Symbol("maskPasswords")``, and ``setUp`` does nothing: in a Pipeline, ``var`` only names
  the pair and sets no variable (makeBuildVariables serves freestyle builds), so the
  Jenkinsfile sets the variable itself with withEnv, under the same name.
"""

from __future__ import annotations

import re

import pytest
from conftest import ROOT, TestKey

from xctoken.ci import jenkins

from .helpers import job_for, mint

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# wrap([$class: 'MaskPasswordsBuildWrapper', varPasswordPairs: [[var: 'NAME', password: EXPR]]])
# or the symbol form, maskPasswords(varPasswordPairs: [[var: 'NAME', password: EXPR]]).
DOCUMENTED = re.compile(
    r"(?:wrap\(\[\$class: 'MaskPasswordsBuildWrapper', varPasswordPairs: \[\[var: '(?P<var>" + NAME + r")', "
    r"password: (?P<password>" + NAME + r")\]\]\]\)"
    r"|maskPasswords\(varPasswordPairs: \[\[var: '(?P<var2>" + NAME + r")', password: (?P<password2>" + NAME
    + r")\]\]\))")
ANY_USE = re.compile(r"MaskPasswordsBuildWrapper|maskPasswords\(")
JENKINSFILE = (ROOT / "examples" / "jenkins" / "Jenkinsfile").read_text()


def uses(text: str) -> list[re.Match[str]]:
    return list(DOCUMENTED.finditer(text))


def test_every_wrapper_in_the_jenkinsfile_has_the_documented_form() -> None:
    code = "\n".join(line for line in JENKINSFILE.splitlines() if not line.lstrip().startswith("//"))
    found, documented = len(ANY_USE.findall(code)), uses(code)
    assert found >= 1, "the Jenkinsfile must mask the token with the Mask Passwords plugin"
    assert len(documented) == found and all(code[m.end():].startswith(" {") for m in documented), (
        "examples/jenkins/Jenkinsfile: write the wrapper as the plugin documents it, "
        "wrap([$class: 'MaskPasswordsBuildWrapper', varPasswordPairs: [[var: 'NAME', password: token]]]) {")


def test_the_masked_value_is_the_token_and_the_variable_carries_it_under_the_same_name() -> None:
    (match,) = uses(JENKINSFILE)
    var, password = match["var"] or match["var2"], match["password"] or match["password2"]
    assert re.search(rf"\b{password} = sh\(script: '[^']*xctoken generate", JENKINSFILE), (
        f"the masked value ({password}) must be what xctoken printed")
    after = JENKINSFILE[match.end():]
    assert f'withEnv(["{var}=${{{password}}}"])' in after, (
        "inside the wrapper, withEnv must set the pair's var to the masked value (var sets nothing in a Pipeline)")


def test_the_jenkins_adapters_note_shows_the_documented_form(test_key: TestKey,
                                                             capfd: pytest.CaptureFixture[str]) -> None:
    notes = jenkins.export(job_for(mint(test_key), "ASC_TOKEN"))
    (note,) = [note for note in notes if "MaskPasswordsBuildWrapper" in note]
    match = DOCUMENTED.search(note)
    assert match and match["var"] == "ASC_TOKEN", f"the note must show the documented form: {note}"

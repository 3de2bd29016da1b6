"""Jenkins: stdout for ``sh(returnStdout: true)`` or ``--output FILE``.

Jenkins masks only credentials it stores (``withCredentials``) and values
wrapped by the Mask Passwords plugin; a value made at run time is masked only
if the pipeline wraps it, as examples/jenkins/Jenkinsfile shows.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import ExportJob
from .generic import deliver

TITLE = "Jenkins"


def detect(env: Mapping[str, str]) -> bool:
    return bool(env.get("JENKINS_URL")) and bool(env.get("BUILD_ID"))


def export(job: ExportJob) -> list[str]:
    notes = deliver(job, TITLE)
    # The Mask Passwords plugin's documented Pipeline form (its MaskPasswordsWorkflowTest).
    notes.append("Jenkins does not mask a value made at run time: wrap its use in "
                 f"wrap([$class: 'MaskPasswordsBuildWrapper', varPasswordPairs: [[var: '{job.name}', "
                 "password: token]]]) (examples/jenkins/Jenkinsfile)")
    return notes

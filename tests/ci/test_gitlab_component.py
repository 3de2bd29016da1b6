"""The GitLab CI/CD components in templates/: their spec headers, and real pipelines through gitlab-ci-local.

Without Docker: each template is a ``spec: inputs:`` header, ``---``, then the jobs; every
``$[[ inputs.X ]]`` used is declared and every declared input used; both documents (the
jobs rendered with the defaults) match GitLab's published schema; the minting command is
one the real argument parser accepts; the README and the CI guide name only real inputs.

With Docker: tests/e2e/gitlab-component/token includes the `token` component the way GitLab
documents for testing a component in its own project (``$CI_SERVER_FQDN/$CI_PROJECT_PATH/
token@$CI_COMMIT_SHA``, supported by gitlab-ci-local as a local component when the project
path and the SHA are this checkout's), and tests/e2e/gitlab-component/on-demand includes
`on-demand` with ``include: local:`` and ``inputs:``. Both hand the tokens to a later job in
another image that verifies them with openssl alone. The key is a throwaway made by the
test, handed over in .gitlab-ci-local-variables.yml (never on a command line, never committed).
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from conftest import ROOT

from xctoken import __version__
from xctoken.cli import build_parser
from xctoken.settings import ENV_VARIABLES

from .gitlab_local import require_tools, run_pipeline

if TYPE_CHECKING:
    from conftest import TestKey

TEMPLATES = ROOT / "templates"
COMPONENTS = {"token": TEMPLATES / "token.yml", "on-demand": TEMPLATES / "on-demand.yml"}
PIPELINES = ROOT / "tests" / "e2e" / "gitlab-component"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
PUBLISHED_IMAGE = f"ghcr.io/xctoken/xctoken-action:{__version__}"  # the release's own image
# $[[ inputs.NAME ]], optionally with interpolation functions ($[[ inputs.NAME | expand_vars ]]).
INPUT = re.compile(r"\$\[\[\s*inputs\.([\w-]+)\s*(?:\|[^\]]*)?\]\]")
# Keywords that act on the whole pipeline: a component must leave them to the includer.
GLOBAL_KEYWORDS = {"default", "include", "stages", "variables", "workflow", "image", "services", "cache",
                   "before_script", "after_script", "spec"}
TOKEN_HEADER = "eyJhbGciOiJFUzI1NiIs"  # every ES256 JWT of ours starts with this
YAML_BLOCK = re.compile(r"^```ya?ml\n(.*?)^```$", re.S | re.M)


def split(path: Path) -> tuple[str, str]:
    """The header and the jobs, as text: GitLab's layout is header, a line `---`, jobs."""
    header, separator, jobs = path.read_text().partition("\n---\n")
    assert separator, f"{path.name}: no `---` line between the spec header and the jobs"
    return header, jobs


def documents(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    docs = list(yaml.safe_load_all(path.read_text()))
    assert len(docs) == 2, f"{path.name}: expected 2 YAML documents (spec header, jobs), found {len(docs)}"
    assert all(isinstance(doc, dict) for doc in docs)
    return docs[0], docs[1]


def inputs(name: str) -> dict[str, dict[str, Any]]:
    return documents(COMPONENTS[name])[0]["spec"]["inputs"]


def defaults(name: str) -> dict[str, Any]:
    return {key: spec["default"] for key, spec in inputs(name).items()}


def render(value: Any, values: dict[str, Any]) -> Any:
    """Interpolate $[[ inputs.X ]] in keys and strings, as GitLab does (all our inputs are strings)."""
    if isinstance(value, str):
        return INPUT.sub(lambda match: str(values[match.group(1)]), value)
    if isinstance(value, dict):
        return {render(key, values): render(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, values) for item in value]
    return value


def rendered_jobs(name: str, **given: str) -> dict[str, Any]:
    return render(documents(COMPONENTS[name])[1], {**defaults(name), **given})


def check_schema(data: dict[str, Any], tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data))
    result = subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.gitlab-ci", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the templates, without Docker ---------------------------------------------------------


def test_templates_holds_exactly_the_two_components() -> None:
    assert sorted(path.name for path in TEMPLATES.glob("*.yml")) == ["on-demand.yml", "token.yml"]
    assert not [path for path in TEMPLATES.rglob("*.yaml")], "GitLab finds components only as .yml"


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_a_spec_header_then_the_jobs(name: str) -> None:
    header, jobs = documents(COMPONENTS[name])
    assert list(header) == ["spec"] and list(header["spec"]) == ["inputs"]
    declared = header["spec"]["inputs"]
    assert isinstance(declared, dict) and declared
    for key, spec in declared.items():
        assert re.fullmatch(r"[a-z][a-z0-9-]*", key), key
        assert isinstance(spec, dict), key
        assert set(spec) <= {"default", "description", "options", "regex", "type"}, key
        assert spec.get("type", "string") == "string", key
        # Every input has a default: `include: - component: .../token@1` alone is a working job.
        assert isinstance(spec.get("default"), str), f"{key}: no default"
        assert isinstance(spec.get("description"), str) and spec["description"].strip(), f"{key}: no description"
        if "options" in spec:
            assert spec["default"] in spec["options"], key
        if "regex" in spec:
            assert re.fullmatch(spec["regex"].strip("^$"), spec["default"]), key
    assert jobs
    assert "$[[" not in split(COMPONENTS[name])[0], "inputs are interpolated in the jobs, never in the header"


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_every_input_used_is_declared_and_every_declared_input_is_used(name: str) -> None:
    _, jobs = split(COMPONENTS[name])
    used = set(INPUT.findall(jobs))
    declared = set(inputs(name))
    assert used - declared == set(), f"{name}: used but not declared"
    assert declared - used == set(), f"{name}: declared but never used"
    # A misspelt interpolation ($[[ input.x ]], $[ inputs.x ]) would reach the job as literal text.
    assert jobs.count("$[[") == len(INPUT.findall(jobs)) and "$[ " not in jobs


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_the_jobs_set_no_global_keyword(name: str) -> None:
    _, jobs = documents(COMPONENTS[name])
    assert not set(jobs) & GLOBAL_KEYWORDS, "a component must not change the includer's whole pipeline"
    assert list(jobs) == {"token": ["$[[ inputs.job-name ]]"], "on-demand": [".xctoken-on-demand"]}[name]


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_both_documents_match_the_gitlab_schema(name: str, tmp_path: Path) -> None:
    header, _ = documents(COMPONENTS[name])
    check_schema(header, tmp_path, "header")
    check_schema(rendered_jobs(name), tmp_path, "jobs")
    check_schema(rendered_jobs(name, stage="deploy", lifetime="10m", scope="GET /v1/apps\nGET /v1/builds"),
                 tmp_path, "jobs-with-inputs")


@pytest.mark.parametrize("path", sorted(PIPELINES.glob("*/.gitlab-ci.yml")), ids=lambda path: path.parent.name)
def test_the_e2e_pipelines_match_the_gitlab_schema(path: Path, tmp_path: Path) -> None:
    check_schema(yaml.safe_load(path.read_text()), tmp_path, "pipeline")


def test_the_token_job_mints_into_the_report_it_declares() -> None:
    jobs = rendered_jobs("token")
    assert list(jobs) == ["app-store-connect-token"]
    job = jobs["app-store-connect-token"]
    assert job["stage"] == "build" and job["image"] == PUBLISHED_IMAGE
    assert job["needs"] == [], "the token job needs nothing, so it starts at once"
    assert "allow_failure" not in job and "when" not in job, "a token job that cannot mint must fail"
    commands = [line for line in job["script"] if line.startswith("xctoken generate")]
    assert len(commands) == 1
    args = build_parser().parse_args(shlex.split(commands[0])[1:])
    assert args.command == "generate"
    assert args.export == "APP_STORE_CONNECT_TOKEN" and args.dotenv == "xctoken-token.env"
    assert job["artifacts"]["reports"]["dotenv"] == args.dotenv
    # Nothing that could print the token: no echo of it, no shell tracing, no error swallowed.
    for line in job["script"]:
        assert not re.search(r"\becho\b|\bprintf\b|\bcat\b|set -x|\|\| *true|\bset \+e", line), line
    renamed = rendered_jobs("token", **{"job-name": "mint", "variable-name": "ASC_TOKEN", "dotenv-file": "a.env"})
    args = build_parser().parse_args(shlex.split(renamed["mint"]["script"][-1])[1:])
    assert (args.export, args.dotenv, renamed["mint"]["artifacts"]["reports"]["dotenv"]) == ("ASC_TOKEN", "a.env",
                                                                                            "a.env")


def test_the_on_demand_template_sets_only_the_image_and_the_settings() -> None:
    template = rendered_jobs("on-demand")[".xctoken-on-demand"]
    assert set(template) == {"image", "variables"}, "the job's own script, rules and stage stay the includer's"
    assert template["image"] == PUBLISHED_IMAGE


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_the_job_variables_are_settings_xctoken_reads(name: str) -> None:
    readable = {variable for entries in ENV_VARIABLES.values() for _, variable in entries}
    for job in documents(COMPONENTS[name])[1].values():
        for variable in job.get("variables", {}):
            assert variable in readable, f"{name}: xctoken reads no {variable}"
            assert not variable.startswith(("ASC_", "APP_STORE_CONNECT_")), "credentials come from CI/CD variables"


def test_the_two_components_mean_the_same_by_the_same_input() -> None:
    token, on_demand = inputs("token"), inputs("on-demand")
    shared = set(token) & set(on_demand)
    assert shared >= {"image", "lifetime", "scope", "service", "key-type"}
    for key in shared:
        assert {k: v for k, v in token[key].items() if k != "description"} == \
               {k: v for k, v in on_demand[key].items() if k != "description"}, key
    token_job = next(iter(documents(COMPONENTS["token"])[1].values()))
    assert token_job["variables"] == documents(COMPONENTS["on-demand"])[1][".xctoken-on-demand"]["variables"]


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_the_readme_documents_every_input_with_its_default(name: str) -> None:
    readme = (TEMPLATES / "README.md").read_text()
    section = readme.split(f"## `{name}`\n", 1)[1].split("\n## ", 1)[0]
    rows = {match.group(1): match.group(2) for match in re.finditer(r"^\| `([\w-]+)` \| ([^|]*) \|", section, re.M)}
    assert set(rows) == set(inputs(name)), f"{name}: README inputs differ from the template's"
    for key, default in defaults(name).items():
        if default:
            assert f"`{default}`" in rows[key], f"{name}: README gives another default for {key}"


def guide_gitlab_section() -> str:
    guide = (ROOT / "docs" / "ci-guide.md").read_text()
    return guide.split("## GitLab CI\n", 1)[1].split("\n## ", 1)[0]


def included_components(text: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for block in YAML_BLOCK.findall(text):
        data = yaml.safe_load(block) or {}
        for entry in data.get("include", []) if isinstance(data, dict) else []:
            if isinstance(entry, dict) and "component" in entry:
                found.append((entry["component"], entry.get("inputs") or {}))
    return found


@pytest.mark.parametrize("document", ["docs/ci-guide.md", "templates/README.md"])
def test_documented_includes_name_real_components_and_inputs(document: str) -> None:
    text = guide_gitlab_section() if document == "docs/ci-guide.md" else (ROOT / document).read_text()
    found = included_components(text)
    assert {component.rsplit("/", 1)[1].split("@")[0] for component, _ in found} == set(COMPONENTS)
    for component, given in found:
        name = component.rsplit("/", 1)[1].split("@")[0]
        assert re.search(r"@(\d+(\.\d+){0,2}|~latest|[0-9a-f]{40})$", component), f"{component}: pin a version"
        assert set(given) <= set(inputs(name)), f"{document}: {component} has no input {set(given) - set(inputs(name))}"


def test_the_guide_shows_the_component_first_and_the_raw_image_second() -> None:
    section = guide_gitlab_section()
    component = section.index("component: gitlab.com/xctoken/xctoken-action/token@")
    raw_image = section.index("image: ghcr.io/")
    assert component < raw_image


def test_readme_commands_parse() -> None:
    readme = (TEMPLATES / "README.md").read_text() + "".join(path.read_text() for path in COMPONENTS.values())
    commands = re.findall(r"xctoken generate[^\"'`)|;<>&#\n]*", readme)
    assert commands
    for command in commands:
        assert build_parser().parse_args(shlex.split(command)[1:]).command == "generate"


# --- real pipelines: gitlab-ci-local and Docker --------------------------------------------


@pytest.fixture
def tools(require_docker: None) -> str:
    return require_tools()


def run_component_pipeline(tmp_path: Path, pipeline: str, key: TestKey, private_key_b64: str | None = None
                           ) -> subprocess.CompletedProcess[str]:
    # The component project's layout: templates/ at the root.
    return run_pipeline(PIPELINES / pipeline, tmp_path, key, private_key_b64=private_key_b64,
                        extra={TEMPLATES: "templates"})


def assert_no_secret_in(log: str, key: TestKey) -> None:
    assert TOKEN_HEADER not in log
    body = "".join(line for line in key.pem.splitlines() if not line.startswith("-----"))
    assert body[:32] not in log and base64.b64encode(key.pem.encode()).decode()[:32] not in log


@pytest.mark.docker
@pytest.mark.slow
def test_token_component_mints_into_a_dotenv_report_verified_in_a_later_job(tools: str, tmp_path: Path,
                                                                            test_key: TestKey) -> None:
    result = run_component_pipeline(tmp_path, "token", test_key)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    # Both includes became jobs: the one with inputs (renamed, own stage, variable and report) and the defaults.
    assert re.search(r"^mint +starting xctoken:ci-test \(token\)", log, re.M), log[-6000:]
    assert re.search(r"^app-store-connect-token +starting xctoken:ci-test \(build\)", log, re.M), log[-6000:]
    assert "ASC_TOKEN appended to dotenv report asc-token.env" in log
    assert "APP_STORE_CONNECT_TOKEN appended to dotenv report xctoken-token.env" in log
    # Markers from the other image, not just the exit code: the inputs reached the claims.
    assert ('XCTOKEN-E2E ASC_TOKEN verified by openssl: kid 2X9R4HXF34, lifetime 600 s, '
            'scope ["GET /v1/apps","GET /v1/builds"]') in log
    assert "XCTOKEN-E2E APP_STORE_CONNECT_TOKEN verified by openssl: kid 2X9R4HXF34, lifetime 1200 s, " \
           "scope null" in log
    assert_no_secret_in(log, test_key)


@pytest.mark.docker
@pytest.mark.slow
def test_on_demand_component_mints_twice_in_one_job(tools: str, tmp_path: Path, test_key: TestKey) -> None:
    result = run_component_pipeline(tmp_path, "on-demand", test_key)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    assert re.search(r"^upload +starting xctoken:ci-test \(build\)", log, re.M), log[-6000:]
    assert "XCTOKEN-COMPONENT on-demand minted twice in one job" in log
    for name in ("FIRST_TOKEN", "FRESH_TOKEN"):
        assert (f'XCTOKEN-E2E {name} verified by openssl: kid 2X9R4HXF34, lifetime 600 s, '
                'scope ["GET /v1/apps"]') in log
    assert_no_secret_in(log, test_key)


@pytest.mark.docker
@pytest.mark.slow
def test_token_component_fails_the_job_when_it_cannot_mint(tools: str, tmp_path: Path, test_key: TestKey) -> None:
    broken = base64.b64encode(b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n").decode()
    result = run_component_pipeline(tmp_path, "token", test_key, private_key_b64=broken)
    log = result.stdout + result.stderr
    assert result.returncode != 0, log[-6000:]
    assert "xctoken: error: the private key data is corrupt" in log
    assert "FAIL 4" in log, "exit code 4 (private key error) is the job's"
    assert re.search(r"FAIL +mint\b", log) and re.search(r"FAIL +app-store-connect-token\b", log), log[-6000:]
    assert "appended to dotenv report" not in log and "verified by openssl" not in log
    assert not re.search(r"^verify +starting", log, re.M), "the job that needs the token must not start"
    assert_no_secret_in(log, test_key)

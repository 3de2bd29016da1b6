"""step.yml against Bitrise's own schema for step.yml files.

Source: github repository bitrise-io/bitrise-json-schemas, file step.schema.json (the schema
Bitrise publishes to the JSON Schema Store as bitrise-step.json; its README says so), read at
commit c2c45d0e37cccd990a14eefde3654cada27290b3 (2026-05-29; the file last changed in
ab920e58f71b7bce186afcfdb3a3b602f70e33d9). That repository carries no licence file, so the
schema is not copied here: STEP_SCHEMA below transcribes the rules of it that a step.yml can
break, with the upstream names, and everything else the upstream file says about these keys
is left out rather than guessed. Among them: no property outside its list
(additionalProperties: false, which is what rules out the old host_os_tags and
is_requires_admin_user), website / source_code_url / support_url required, the tag values
from fixed lists (no "xamarin" any more), and every input's and output's opts with a title
and a summary. Bitrise's docs call host_os_tags "currently unused, reserved for future use";
the schema has no such property at all.
"""

from __future__ import annotations

import jsonschema
import pytest
import yaml
from conftest import ROOT

URL = {"type": "string", "format": "uri", "pattern": "^https?://"}
ENV_VAR_OPTS = {
    "type": "object", "additionalProperties": False, "required": ["title", "summary"],
    "if": {"properties": {"is_sensitive": {"const": True}}, "required": ["is_sensitive"]},
    "then": {"properties": {"is_expand": {"const": True}}},
    "properties": {
        "is_expand": {"type": "boolean"}, "skip_if_empty": {"type": "boolean"},
        "title": {"type": "string", "minLength": 1}, "description": {"type": "string"},
        "summary": {"type": "string", "minLength": 1}, "category": {"type": "string"},
        "value_options": {"type": "array", "minItems": 2, "items": {"type": "string"}},
        "is_required": {"type": "boolean"}, "is_dont_change_value": {"type": "boolean"},
        "is_template": {"type": "boolean"}, "is_sensitive": {"type": "boolean"}, "unset": {"type": "boolean"},
        "meta": {"type": "object"},
    },
}
INPUT_ENV_VAR = {
    "type": "object", "maxProperties": 2, "minProperties": 1,
    "allOf": [
        {"if": {"required": ["opts"]}, "then": {"minProperties": 2}},
        {"if": {"required": ["opts"], "properties": {"opts": {"required": ["value_options"]}}},
         "then": {"additionalProperties": {"type": "string", "minLength": 1},
                  "patternProperties": {"opts": ENV_VAR_OPTS}}},
    ],
    "additionalProperties": {"type": ["null", "string"]},
    "patternProperties": {"opts": ENV_VAR_OPTS},
}
OUTPUT_ENV_VAR = {
    "type": "object", "maxProperties": 2, "minProperties": 1,
    "if": {"required": ["opts"]}, "then": {"minProperties": 2},
    "additionalProperties": {"type": ["null", "string"]},
    "patternProperties": {"opts": ENV_VAR_OPTS},
}
STEP_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object", "additionalProperties": False,
    "required": ["title", "summary", "website", "support_url", "source_code_url"],
    "if": {"properties": {"type_tags": {"contains": {"const": "notification"}}}, "required": ["type_tags"]},
    "then": {"required": ["is_always_run"], "properties": {"is_always_run": {"const": True}}},
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "summary": {"type": "string", "pattern": "^.{1,100}$"},
        "description": {"type": "string"},
        "website": URL, "source_code_url": URL, "support_url": URL,
        "published_at": {"type": "string", "format": "date-time"},
        "source": {"type": "object"},
        "project_type_tags": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {
            "type": "string", "enum": ["ios", "macos", "android", "react-native", "cordova", "ionic", "flutter",
                                       "kotlin-multiplatform", "node-js", "java", "web", "other"]}},
        "type_tags": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {
            "type": "string", "enum": ["access-control", "artifact-info", "build", "code-sign", "dependency",
                                       "deploy", "installer", "notification", "security", "test", "utility"]}},
        "toolkit": {"type": "object", "additionalProperties": False, "minProperties": 1, "maxProperties": 1,
                    "properties": {
                        "bash": {"type": "object", "additionalProperties": False, "required": ["entry_file"],
                                 "properties": {"entry_file": {"type": "string", "minLength": 1}}},
                        "go": {"type": "object", "additionalProperties": False, "required": ["package_name"],
                               "properties": {"package_name": {"type": "string", "minLength": 1}}}}},
        "deps": {"type": "object"},
        "is_always_run": {"type": "boolean"},
        "is_skippable": {"type": "boolean"},
        "run_if": {"type": "string"},
        "timeout": {"type": "integer", "exclusiveMinimum": 0},
        "meta": {"type": "object"},
        "inputs": {"type": "array", "uniqueItems": True, "items": INPUT_ENV_VAR},
        "outputs": {"type": "array", "uniqueItems": True, "items": OUTPUT_ENV_VAR},
        "executables": {"type": "object"},
    },
}
STEP = yaml.safe_load((ROOT / "step.yml").read_text())


def test_the_transcribed_schema_is_a_valid_draft_7_schema() -> None:
    jsonschema.Draft7Validator.check_schema(STEP_SCHEMA)


def test_step_yml_passes_bitrises_step_schema() -> None:
    validator = jsonschema.Draft7Validator(STEP_SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    problems = [f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
                for error in validator.iter_errors(STEP)]
    assert problems == [], "step.yml breaks Bitrise's step schema:\n" + "\n".join(problems)


@pytest.mark.parametrize("stale", ["host_os_tags", "is_requires_admin_user"])
def test_no_property_the_schema_has_not(stale: str) -> None:
    assert stale not in STEP


def test_the_step_points_at_its_repository() -> None:
    for key in ("website", "source_code_url", "support_url"):
        assert STEP[key].startswith("https://github.com/xctoken/xctoken-action"), key


def test_the_project_types_are_the_ones_that_ship_to_app_store_connect() -> None:
    # App Store Connect serves Apple platforms: never android, java or web alone.
    assert {"ios", "macos"} <= set(STEP["project_type_tags"])
    assert not {"android", "java", "web", "node-js"} & set(STEP["project_type_tags"])

"""--agora-structured (config.py, generation/constraint.py): profile defaults, backends refused at start-up
with the backend and the option named, and the option in the JSON report, JUnit and the HTML page."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_agorabench.config import ConfigError, build_config
from pytest_agorabench.generation.constraint import (
    constrained_config,
    structured_problem,
)
from pytest_agorabench.generation.layouts import layout_for
from pytest_agorabench.report.html_page import render_html
from pytest_agorabench.report.json_report import build_report
from pytest_agorabench.result import CaseResult
from pytest_agorabench.settings import get_setting
from tests.unit.report.nine_cases import case


def cfg(**cli):
    return build_config(cli, {}, Path("/tmp"))


@pytest.mark.parametrize(("profile", "on"), [("smoke", True), ("paper", False), ("quick", False)])
def test_profile_defaults(profile, on):
    config = cfg(profile=profile, generator="agora/smollm2-135m")
    assert config.structured is on and config.structured_note is None


def test_cli_and_pyproject_set_it():
    assert cfg(structured="off").structured is False
    assert cfg(profile="paper", generator="vllm/org/gen", structured="on").structured is True
    assert build_config({}, {"structured": False}, Path("/tmp")).structured is False
    with pytest.raises(ConfigError, match="structured.*boolean"):
        build_config({}, {"structured": "yes"}, Path("/tmp"))


def test_a_backend_that_cannot_constrain_is_refused_naming_it_and_the_option():
    with pytest.raises(ConfigError) as info:
        cfg(generator="gpt-4o", structured="on")
    message = str(info.value)
    assert message.startswith("--agora-structured=on:") and "openai backend" in message and "json" in message
    assert "\n" not in message
    with pytest.raises(ConfigError, match="--agora-structured=on: the mockllm backend .* cannot constrain"):
        cfg(generator="mockllm/model", structured="on")


def test_json_prompts_make_an_openai_style_api_constrainable():
    config = cfg(generator="gpt-4o", structured="on", prompts="json")
    assert config.structured is True


def test_the_profiles_default_gives_way_for_an_api_generator_and_says_so():
    config = cfg(generator="gpt-4o")  # smoke turns structured generation on; gpt-4o takes a schema only
    assert config.structured is False
    assert "smoke profile turns it on" in config.structured_note and "openai backend" in config.structured_note


def test_scripted_generators_are_accepted_and_rechecked():
    assert structured_problem("agora-script/tests.e2e.scripted:arithmetic", "text") is None
    assert constrained_config("agora-script/x:y", layout_for("text", get_setting("math/instance_generation"))) == {}


def test_backends_get_the_constraint_in_their_own_field():
    text = layout_for("text", get_setting("code/response_generation"))
    json_layout = layout_for("json", get_setting("code/response_generation"))
    for model in ("agora/smollm2-135m", "vllm/org/gen"):
        assert constrained_config(model, text) == {"extra_body": {"structured_outputs": {"grammar": text.grammar()}}}
    schema = constrained_config("openai/gpt-4o", json_layout)["response_schema"]
    assert schema.strict and schema.json_schema.required == ["response"]


def test_reports_carry_the_option():
    fields = case("math/response_generation", 12.0)
    fields = {k: v for k, v in fields.items() if k not in ("outcome", "nodeid")}
    off = CaseResult.from_dict(fields)
    on = CaseResult.from_dict({**fields, "structured": {"force_closed": 2, "misfits": 1}})
    assert dict(off.junit_properties())["structured"] == "off" and "structured_force_closed" not in dict(off.junit_properties())
    props = dict(on.junit_properties())
    assert props["structured"] == "on" and props["structured_force_closed"] == 2 and props["structured_misfits"] == 1
    summary = cfg().summary()
    assert summary["structured"] is True
    report = build_report([{**on.to_dict(), "outcome": "passed", "nodeid": "n"}], summary)
    assert report["config"]["structured"] is True and report["cases"][0]["structured"]["force_closed"] == 2


def test_html_page_says_whether_it_was_on(tmp_path):
    for config, said in ((cfg(), "structured generation <b>on</b>"), (cfg(structured="off"), "structured generation <b>off</b>")):
        report = build_report([case("math/response_generation", 12.0)], config.summary())
        assert said in render_html(report, tmp_path)
    noted = cfg(generator="gpt-4o")
    page = render_html(build_report([case("math/response_generation", 12.0)], noted.summary()), tmp_path)
    assert "structured generation <b>off</b> (structured generation off although the smoke profile" in page

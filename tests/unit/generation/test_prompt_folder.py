"""A user's prompt folder in the official placeholder format: loading, checks, filling, fingerprints."""

import shutil
from pathlib import Path

import pytest

from pytest_agorabench.generation.meta_prompts import meta_prompts
from pytest_agorabench.generation.prompts import SYSTEM_MESSAGE
from pytest_agorabench.generation.prompts.folder import (
    PromptFolderError,
    fill,
    load_folder,
)
from pytest_agorabench.settings import SETTINGS, get_setting

EXAMPLE = Path(__file__).parents[3] / "fixtures" / "prompts" / "placeholder_format"
DEMOS = [{"instruction": f"in{k}", "response": f"out{k}"} for k in range(1, 4)]


@pytest.fixture
def folder(tmp_path):
    target = tmp_path / "prompts"
    shutil.copytree(EXAMPLE, target)
    return target


def test_the_shipped_example_covers_all_nine_settings():
    loaded = load_folder(EXAMPLE)
    assert sorted(loaded.templates) == sorted(s.key for s in SETTINGS)
    assert loaded.system is None


def test_instance_generation_fills_every_placeholder():
    prompts = meta_prompts(EXAMPLE)
    text = prompts.build(get_setting("instruction_following/instance_generation"), demos=DEMOS, theme="travel", opening="Why")
    for k in range(1, 4):
        assert f"INPUT: in{k}\nOUTPUT: out{k}" in text
    assert "about: travel." in text and 'begin with "Why"' in text
    assert "<" not in text.replace("<the", "")  # nothing left unfilled
    assert prompts.system == SYSTEM_MESSAGE and prompts.name == f"folder:{EXAMPLE}"


def test_response_generation_and_quality_enhancement_fill_input_and_output():
    prompts = meta_prompts(EXAMPLE)
    seed = {"instruction": "What is 2 + 2?", "response": "4"}
    rg = prompts.build(get_setting("math/response_generation"), seed_row=seed)
    qe = prompts.build(get_setting("code/quality_enhancement"), seed_row=seed)
    assert "INPUT: What is 2 + 2?" in rg and "<input>" not in rg
    assert "Question: What is 2 + 2?\n\nAnswer: 4" in qe


def test_filling_is_one_pass_so_demo_text_is_not_filled_again():
    assert fill("<input1>|<input2>", {"input1": "<input2>", "input2": "x"}) == "<input2>|x"
    assert fill("<html><input>", {}) == "<html><input>"


def test_output_is_parsed_like_the_default_layout():
    prompts = meta_prompts(EXAMPLE)
    got = prompts.parse(get_setting("math/instance_generation"), "A new problem?\nOUTPUT: Steps [RESULT] 2 [/RESULT]\n[END]")
    assert (got.instruction, got.response) == ("A new problem?", "Steps [RESULT] 2 [/RESULT]")


def test_system_file_replaces_the_system_message(folder):
    (folder / "system.txt").write_text("You generate data.\n")
    assert meta_prompts(folder).system == "You generate data."


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("math_response_generation.txt", "Solve it.\nOUTPUT:", "missing placeholder\\(s\\) <input>"),
        ("math_instance_generation.txt", "<input1> <output1> <input2> <output2> <input3>", "missing placeholder\\(s\\) <output3>"),
        ("math_instance_generation.txt", "<input1><output1><input2><output2><input3><output3><input4>", "<input4>"),
        ("math_response_generation.txt", "<input> <output>", "not used by response_generation"),
        ("math_instance_generation.txt", "<input1><output1><input2><output2><input3><output3><first_word>", "only drawn for instruction following"),
        ("math_reponse_generation.txt", "<input>", "unknown prompt file name"),
    ],
)
def test_bad_files_fail_at_load_with_the_file_named(folder, name, text, message):
    (folder / name).write_text(text)
    with pytest.raises(PromptFolderError, match=message) as err:
        load_folder(folder)
    assert name in str(err.value)


def test_a_setting_without_its_file_fails_before_any_call(folder):
    (folder / "code_response_generation.txt").unlink()
    prompts = meta_prompts(folder)
    with pytest.raises(PromptFolderError, match="no code_response_generation.txt for code/response_generation"):
        prompts.check(get_setting("code/response_generation"))
    prompts.check(get_setting("math/response_generation"))


def test_empty_or_missing_folder(tmp_path):
    with pytest.raises(PromptFolderError, match="holds no"):
        load_folder(tmp_path)
    with pytest.raises(PromptFolderError, match="neither a prompt variant name nor a folder"):
        load_folder(tmp_path / "nope")


def test_fingerprint_follows_the_text_not_the_path(folder, tmp_path):
    setting = get_setting("math/response_generation")
    moved = shutil.copytree(folder, tmp_path / "elsewhere")
    assert meta_prompts(folder).fingerprint(setting) == meta_prompts(moved).fingerprint(setting)
    before = meta_prompts(folder).fingerprint(setting)
    path = folder / "math_response_generation.txt"
    path.write_text(path.read_text() + "Be brief.\n")
    assert meta_prompts(folder).fingerprint(setting) != before
    edited = meta_prompts(folder).fingerprint(setting)
    assert edited != meta_prompts("agorabench").fingerprint(setting)
    (folder / "system.txt").write_text("Another system line.")
    assert meta_prompts(folder).fingerprint(setting) != edited


IG_DEMOS = "".join(f"INPUT: <input{k}>\nOUTPUT: <output{k}>\n[END]\n" for k in range(1, 4))


@pytest.mark.parametrize(
    "name, text, token, closest",
    [
        ("instruction_following_instance_generation.txt", IG_DEMOS + "Theme: <input_thme>.", "<input_thme>", "<input_theme>"),
        ("instruction_following_instance_generation.txt", IG_DEMOS + "Start with <First_Word>.", "<First_Word>", "<first_word>"),
        ("math_instance_generation.txt", IG_DEMOS.replace("<output2>", "<ouput2>"), "<ouput2>", "<output2>"),
        ("math_response_generation.txt", "Solve: <inputs>\nOUTPUT:", "<inputs>", "<input>"),
        ("code_quality_enhancement.txt", "<input>\n<output_text>", "<output_text>", "<output>"),
    ],
)
def test_a_misspelled_placeholder_names_the_file_token_and_closest(folder, name, text, token, closest):
    (folder / name).write_text(text)
    with pytest.raises(PromptFolderError) as err:
        load_folder(folder)
    message = str(err.value)
    assert name in message and f"{token} is not a placeholder" in message and f"did you mean {closest}?" in message


def test_other_angle_bracket_text_is_prompt_text(folder):
    # HTML tags, C++ templates and answer tags are not shaped like our placeholders: they reach the model.
    text = IG_DEMOS + "Use <b>bold</b>, <br>, <code>x</code>, std::vector<int> or <answer>; theme <input_theme>."
    (folder / "math_instance_generation.txt").write_text(text)
    filled = meta_prompts(folder).build(get_setting("math/instance_generation"), demos=DEMOS, theme="sets")
    assert "<b>bold</b>, <br>, <code>x</code>, std::vector<int> or <answer>; theme sets." in filled


@pytest.mark.parametrize(
    "text",
    [
        # Our own fixtures in the shape of a JSON-answer prompt: demonstrations as quoted JSON values.
        'Answer with one JSON object.\n' + "".join(
            f'{{"instruction": "<input{k}>", "response": "<output{k}>"}}\n' for k in range(1, 4)
        ),
        (
            'Reply as a JSON list like the examples: ["<input1>", "<output1>"] ["<input2>", "<output2>"] '
            '["<input3>", "<output3>"]'
        ),
    ],
)
def test_a_json_formatted_prompt_file_is_refused_with_what_to_do(folder, text):
    (folder / "code_instance_generation.txt").write_text(text)
    with pytest.raises(PromptFolderError, match="JSON-formatted prompt") as err:
        load_folder(folder)
    message = str(err.value)
    assert "code_instance_generation.txt" in message and "<input1>" in message
    assert "--agora-prompts=json" in message and "plain text" in message


def test_a_quoted_placeholder_in_prose_is_not_json(folder):
    # The shipped instruction-following file says: begin with "<first_word>"; that must stay accepted.
    text = IG_DEMOS + 'About "<input_theme>". Begin with "<first_word>": keep it short.'
    (folder / "instruction_following_instance_generation.txt").write_text(text)
    load_folder(folder)

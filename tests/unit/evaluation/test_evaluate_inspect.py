"""evaluate() end to end through inspect-ai with its mockllm provider (no network, ~1 s per eval)."""

import pytest

from pytest_agorabench.evaluation import EvaluationError, evaluate, load_items
from pytest_agorabench.evaluation.common import REPETITION_PENALTY, SYSTEM_MESSAGE, TOP_P

pytest.importorskip("inspect_ai")


def _output(text):
    from inspect_ai.model import ModelOutput, ModelUsage

    out = ModelOutput.from_content(model="mockllm", content=text)
    # Without usage mockllm counts tokens with a tokenizer it would download.
    out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    return out


class Scripted:
    """A mockllm ``custom_outputs`` callable: answers from a question -> text table, records what it saw."""

    def __init__(self, answers):
        self.answers = answers
        self.seen = []

    def __call__(self, messages, tools, tool_choice, config):
        self.seen.append((messages, config))
        return _output(self.answers[messages[-1].text])


def test_gsm8k_scores_in_item_order(tmp_path):
    items = load_items("gsm8k", limit=4)
    replies = {
        items[0]["question"]: f"Step by step. [RESULT] {items[0]['answer']} [/RESULT]",
        items[1]["question"]: "I think it is \\boxed{99999}",
        items[2]["question"]: f"So the answer is {items[2]['answer']}.",
        items[3]["question"]: "I do not know.",
    }
    model = Scripted(replies)
    scores = evaluate("mockllm/model", "gsm8k", items, max_tokens=64, log_dir=tmp_path,
                      model_args={"custom_outputs": model})
    assert [s["id"] for s in scores] == [i["id"] for i in items]
    assert [s["score"] for s in scores] == [1.0, 0.0, 1.0, 0.0]
    assert [s["extracted"] for s in scores] == [items[0]["answer"], "99999", items[2]["answer"], None]
    assert scores[1]["output"] == replies[items[1]["question"]]

    messages, config = model.seen[0]
    assert messages[0].role == "system" and messages[0].text == SYSTEM_MESSAGE
    assert config.temperature == 0.2 and config.top_p == TOP_P and config.max_tokens == 64
    assert config.extra_body == {"repetition_penalty": REPETITION_PENALTY}
    assert list(tmp_path.glob("*.eval")), "the inspect log is kept for `inspect view`"


def test_math_uses_math_verify_and_temperature_override(tmp_path):
    items = [
        {"id": "half", "question": "What is one half as a decimal?", "answer": "\\frac{1}{2}"},
        {"id": "poly", "question": "Expand (x+1)^2.", "answer": "x^2+2x+1"},
    ]
    model = Scripted({
        items[0]["question"]: "It is $0.5$. [RESULT] 0.5 [/RESULT]",
        items[1]["question"]: "We get \\boxed{(x+1)(x+1)}",
    })
    scores = evaluate("mockllm/model", "math", items, max_tokens=32, log_dir=tmp_path, temperature=0.0,
                      model_args={"custom_outputs": model})
    assert [s["score"] for s in scores] == [1.0, 1.0]
    assert model.seen[0][1].temperature == 0.0


def test_failing_model_raises_with_log_location(tmp_path):
    def broken(messages, tools, tool_choice, config):
        raise RuntimeError("model server went away")

    items = load_items("gsm8k", limit=2)
    with pytest.raises(EvaluationError, match="model server went away") as info:
        evaluate("mockllm/model", "gsm8k", items, max_tokens=8, log_dir=tmp_path,
                 model_args={"custom_outputs": broken})
    assert str(tmp_path) in str(info.value)


def test_bad_model_name_and_bad_items(tmp_path):
    items = load_items("gsm8k", limit=1)
    with pytest.raises(EvaluationError, match="failed before a log was written"):
        evaluate("nosuchprovider/x", "gsm8k", items, max_tokens=8, log_dir=tmp_path)
    with pytest.raises(EvaluationError, match="not unique"):
        evaluate("mockllm/model", "gsm8k", items * 2, max_tokens=8, log_dir=tmp_path)
    with pytest.raises(EvaluationError, match="no items"):
        evaluate("mockllm/model", "gsm8k", [], max_tokens=8, log_dir=tmp_path)

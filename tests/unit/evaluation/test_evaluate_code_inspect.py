"""evaluate() on the code benchmarks through inspect-ai: greedy decoding, and every answer run in the sandbox
the task declares (ours by default; AGORABENCH_SANDBOX picks another)."""

import pytest

from pytest_agorabench.evaluation import evaluate, get_benchmark, load_items
from pytest_agorabench.sandbox import SCALE_ENV

pytest.importorskip("inspect_ai")


def _output(text):
    from inspect_ai.model import ModelOutput, ModelUsage

    out = ModelOutput.from_content(model="mockllm", content=text)
    out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)  # mockllm would download a tokenizer
    return out


class Scripted:
    def __init__(self, answers):
        self.answers = answers
        self.configs = []

    def __call__(self, messages, tools, tool_choice, config):
        self.configs.append(config)
        return _output(self.answers[messages[-1].text])


def test_mbpp_and_humaneval_score_by_running_the_answers_in_the_agora_sandbox(tmp_path, monkeypatch):
    monkeypatch.setenv(SCALE_ENV, "0.3")
    monkeypatch.delenv("AGORABENCH_SANDBOX", raising=False)
    mbpp = load_items("mbpp", limit=3)
    right = f"```python\n{mbpp[0]['answer']}\n```"
    model = Scripted({
        mbpp[0]["question"]: f"Here is the code:\n{right}\nThis should work.",
        mbpp[1]["question"]: "```python\ndef nothing():\n    pass\n```",
        mbpp[2]["question"]: "```python\nimport os\nos._exit(0)\n```",
    })
    scores = evaluate("mockllm/model", "mbpp", mbpp, max_tokens=128, log_dir=tmp_path / "mbpp",
                      model_args={"custom_outputs": model})
    assert [s["score"] for s in scores] == [1.0, 0.0, 0.0]
    assert mbpp[0]["tests"][0] in scores[0]["extracted"]  # the program that ran, tests included
    assert all(config.temperature == 0.0 and config.max_tokens == 128 for config in model.configs)

    humaneval = load_items("humaneval", limit=2)
    model = Scripted({humaneval[0]["question"]: humaneval[0]["answer"], humaneval[1]["question"]: "    return None\n"})
    scores = evaluate("mockllm/model", "humaneval", humaneval, max_tokens=128, log_dir=tmp_path / "he",
                      model_args={"custom_outputs": model})
    assert [s["score"] for s in scores] == [1.0, 0.0]

    from inspect_ai.log import read_eval_log

    (log_file,) = (tmp_path / "he").glob("*.eval")
    log = read_eval_log(str(log_file))
    assert log.eval.sandbox.type == "agora"
    explanations = {sample.id: sample.scores["agora_answer"].explanation for sample in log.samples}
    assert "program passed" in explanations[humaneval[0]["id"]]
    assert "program failed" in explanations[humaneval[1]["id"]]


def test_code_tasks_declare_the_chosen_sandbox(monkeypatch):
    from pytest_agorabench.evaluation._inspect_task import build_task

    items = load_items("humaneval", limit=1)
    monkeypatch.delenv("AGORABENCH_SANDBOX", raising=False)
    assert build_task(get_benchmark("humaneval"), items, "sys", 42).sandbox.type == "agora"
    monkeypatch.setenv("AGORABENCH_SANDBOX", "docker:compose.yaml")
    spec = build_task(get_benchmark("humaneval"), items, "sys", 42).sandbox
    assert (spec.type, spec.config) == ("docker", "compose.yaml")
    # Math tasks run no code and get no sandbox.
    assert build_task(get_benchmark("gsm8k"), load_items("gsm8k", limit=1), "sys", 42).sandbox is None

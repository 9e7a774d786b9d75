"""measure(): the enabled scorers as one stage, with names the analysis reads and counted failures."""

from __future__ import annotations

import textwrap

import pytest

from pytest_agorabench.intrinsic import IntrinsicConfig, IntrinsicError, measure
from pytest_agorabench.intrinsic.diversity import text_diversity
from pytest_agorabench.intrinsic.embeddings import HashedNgramEmbedder
from pytest_agorabench.intrinsic.measure import sample_rows


def test_diversity_only_by_default_and_the_rest_says_why_it_was_skipped(rows):
    out = measure(rows + [{"instruction": "", "response": "orphan answer"}], "math", config=IntrinsicConfig(embedder="hashed"))
    embed = HashedNgramEmbedder()
    instructions = [r["instruction"] for r in rows]
    assert out["metrics"]["instruction_diversity_cdist"] == pytest.approx(text_diversity(instructions, embed).value)
    assert out["failures"]["instruction_diversity_cdist"] == {"empty_text": 1}
    assert out["scored"]["response_diversity_cdist"] == 5
    assert set(out["skipped"]) == {"response_perplexity", "reward_model", "judge"}
    assert out["rows"] == out["sampled_rows"] == 5


def test_all_scorers_together_with_paper_style_names(rows, tiny_lm_dir, tmp_path):
    script = tmp_path / "judge.py"
    script.write_text(textwrap.dedent(
        '''
        def judge(messages, config):
            return "Score: 3" if "write a hard" in messages[-1]["content"] else "Fine.\\nScore: 5"
        '''
    ))
    config = IntrinsicConfig(
        embedder="hashed",
        perplexity_model=str(tiny_lm_dir),
        judges={"scripted": f"agora-script/{script}:judge"},
        log_dir=str(tmp_path / "logs"),
        sample_size=3,
    )
    out = measure(rows, "code", config=config)
    metrics = out["metrics"]
    assert metrics["instruction_difficulty_scripted_judge"] == 3 and metrics["response_quality_scripted_judge"] == 5
    assert metrics["response_perplexity"] > 1
    assert out["scored"]["response_perplexity"] == out["scored"]["response_quality_scripted_judge"] == 3
    assert out["scored"]["instruction_diversity_cdist"] == 4  # diversity sees every row, not the sample
    assert out["judge_tokens"]["response_quality_scripted_judge"]["input"] > 0
    assert out["skipped"] == {"reward_model": "no reward model configured"}


def test_sample_is_deterministic_ordered_and_bounded():
    rows = [{"i": i} for i in range(50)]
    picked = sample_rows(rows, 10, seed=4)
    assert picked == sample_rows(rows, 10, seed=4) and picked != sample_rows(rows, 10, seed=5)
    assert [r["i"] for r in picked] == sorted(r["i"] for r in picked) and len(picked) == 10
    assert sample_rows(rows, 100, seed=0) == rows


def test_configuration_errors_are_clear(rows, tmp_path):
    with pytest.raises(IntrinsicError, match="unknown domain"):
        measure(rows, "poetry")
    with pytest.raises(IntrinsicError, match="diversity: unknown embedder"):
        measure(rows, "math", config=IntrinsicConfig(embedder="nope"))
    with pytest.raises(IntrinsicError, match="response perplexity: .* not a transformers checkpoint"):
        measure(rows, "math", config=IntrinsicConfig(embedder="hashed", perplexity_model=str(tmp_path)))
    with pytest.raises(ValueError, match="sample_size"):
        IntrinsicConfig(sample_size=0)
    with pytest.raises(ValueError, match="judge label"):
        IntrinsicConfig(judges={"gpt 4o!": "openai/gpt-4o"})

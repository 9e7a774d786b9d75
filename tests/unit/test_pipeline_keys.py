"""Cache keys do not depend on where the store lives: a copied or moved store still serves its artifacts."""

from pytest_agorabench.pipeline import portable
from pytest_agorabench.store import Store


def test_model_paths_inside_the_store_are_keyed_relative_to_it(tmp_path):
    a, b = Store(tmp_path / "a"), Store(tmp_path / "b")
    in_a = f"agora/{a.root}/artifacts/training/ab/abcd/model"
    in_b = f"agora/{b.root}/artifacts/training/ab/abcd/model"
    assert portable(a, in_a) == portable(b, in_b) == "agora/<store>/artifacts/training/ab/abcd/model"
    # Anything outside the store is left as it is.
    assert portable(a, "vllm/meta-llama/Llama-3.1-8B") == "vllm/meta-llama/Llama-3.1-8B"

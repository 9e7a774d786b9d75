"""Contamination end to end: a scripted generator that copies the signal benchmark into its new instances
(tests/e2e/scripted_copying.py) is flagged for exactly its verbatim rows (JUnit), its paraphrases show as
near copies in the report, --agora-max-contamination fails the case naming the worst copy, ``drop`` trains
without the flagged rows, and a clean generator gets 0 flagged."""

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .runs import SUITE, generated_rows
from .scripted_copying import QUESTIONS

pytestmark = pytest.mark.signal  # conftest.py: AGORABENCH_SIGNAL_TEST=1 (.ci/run sets it)

COPYING = Path(__file__).with_name("scripted_copying.py")
SIGNAL = Path(__file__).resolve().parents[2] / "fixtures" / "signal"
INSTANCES = 24


def _run(pytester, store: Path, name: str, function: str, *args: str) -> dict:
    shutil.copy(SUITE, pytester.path / "test_math.py")
    report, junit = pytester.path / f"{name}.json", pytester.path / f"{name}.xml"
    proc = pytester.runpytest_subprocess(
        f"--generator=agora-script/{COPYING}:{function}", f"--agora-store={store}", f"--instances={INSTANCES}",
        f"--agora-seed-file={SIGNAL / 'seeds.jsonl'}", f"--agora-benchmark-dir={SIGNAL / 'benchmarks'}",
        "--agora-intrinsic=off", f"--agora-json={report}", f"--junitxml={junit}", "-k", "instance_generation",
        "-p", "no:cacheprovider", *args, timeout=1800,
    )
    case = json.loads(report.read_text())["cases"][0]
    props = {p.get("name"): p.get("value") for p in ET.parse(junit).getroot().iter("property")}
    return {"proc": proc, "case": case, "props": props, "out": proc.stdout.str()}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return tmp_path_factory.mktemp("contamination") / "store"


def test_verbatim_copies_are_flagged_exactly_and_paraphrases_reported(pytester, store):
    run = _run(pytester, store, "report", "copying", "--agora-max-contamination=0.05")
    case, props = run["case"], run["props"]
    rows = generated_rows(store, case)
    verbatim = [r for r in rows if r["instruction"] in QUESTIONS]
    paraphrased = [r for r in rows if r["instruction"].endswith(" is what?")]
    assert len(rows) == INSTANCES and verbatim and paraphrased and len(verbatim) + len(paraphrased) < len(rows)

    found = case["contamination"]
    assert found["rows_checked"] == INSTANCES
    assert found["rows_flagged"] == len(verbatim)
    assert props["contaminated_rows"] == str(len(verbatim))
    assert props["contaminated_share"] == f"{len(verbatim) / INSTANCES:.4f}"
    assert props["gsm8k_contaminated_rows"] == props["math_contaminated_rows"] == str(len(verbatim))
    assert {m["row"] for m in found["worst"]} <= {r["id"] for r in verbatim}
    assert all(m["kind"] == "exact" and m["item_text"] == m["row_text"] for m in found["worst"])
    # every paraphrase is a near copy, and nothing else is
    assert found["near_copies"] == len(paraphrased)
    assert {m["row"] for m in found["near_examples"]} <= {r["id"] for r in paraphrased}
    # report mode trains on every row: seed + generated
    assert case["train_rows"] == case["seed_rows"] + INSTANCES and "drops_contaminated" not in props

    # --agora-max-contamination fails the case with the share, the limit and the worst copy
    run["proc"].assert_outcomes(failed=1)
    assert f"share {len(verbatim) / INSTANCES:.4f} > --agora-max-contamination 0.05" in run["out"]
    assert f"copies gsm8k item {found['worst'][0]['item']}" in run["out"]
    assert "contamination (generated rows copying benchmark items):" in run["out"]
    html = (pytester.path / "report.html").read_text()
    assert "Contamination: " in html and found["near_examples"][0]["row_text"] in html


def test_drop_trains_without_the_flagged_rows(pytester, store):
    run = _run(pytester, store, "drop", "copying", "--agora-decontaminate=drop")
    case, props = run["case"], run["props"]
    verbatim = [r for r in generated_rows(store, case) if r["instruction"] in QUESTIONS]
    assert case["contamination"]["rows_flagged"] == len(verbatim) > 0
    assert case["drops_by_reason"]["contaminated"] == len(verbatim)
    assert props["drops_contaminated"] == str(len(verbatim))
    assert case["instances_valid"] == INSTANCES - len(verbatim)
    assert case["train_rows"] == case["seed_rows"] + INSTANCES - len(verbatim)
    assert case["training"]["rows"] == case["train_rows"]


def test_a_clean_generator_gets_none_flagged(pytester, store):
    run = _run(pytester, store, "clean", "clean", "--agora-max-contamination=0")
    run["proc"].assert_outcomes(passed=1)
    assert run["props"]["contaminated_rows"] == "0" and run["case"]["contamination"]["near_copies"] == 0

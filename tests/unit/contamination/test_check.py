"""The contamination rules on hand-written items: what each flags, what it reports as near, what it leaves."""

from pytest_agorabench.contamination import Rule, check
from pytest_agorabench.contamination.normalize import masked, numbers, tokens

LONG_Q = ("A baker fills 4 trays with 12 rolls each and then sells 17 of the rolls at the morning market. "
          "How many rolls does the baker still have?")
SHORT_Q = "What is 3 + 4?"
BENCH = {
    "gsm8k": [{"id": "g1", "question": LONG_Q, "answer": "31"}, {"id": "g2", "question": SHORT_Q, "answer": "7"}],
    "other": [{"id": "o1", "question": "Name three colours of the rainbow in the order they appear.",
               "answer": "def add_four(value):\n    total = value + 4\n    return total"}],
}


def _rows(*instructions: str, response: str = "An answer.") -> list[dict]:
    return [{"id": f"r{i}", "instruction": text, "response": response} for i, text in enumerate(instructions)]


def test_normalization_drops_case_punctuation_and_markup_but_keeps_operators_and_numbers():
    assert tokens("What is $3+4$?") == tokens("what is 3 + 4") == ("what", "is", "3", "+", "4")
    assert tokens("3 - 4") != tokens("3 + 4")
    assert tokens("It costs 1,000 for 3x2") == ("it", "costs", "1", "000", "for", "3", "x", "2")
    assert masked(tokens("3 + 4")) == masked(tokens("8 + 1")) == {"<n>", "+"}
    assert numbers(tokens("4 + 03")) == ("3", "4")


def test_a_short_item_is_flagged_when_copied_whole_and_not_for_sharing_its_template():
    rows = _rows("what is 3+4", "Please solve: What is 3 + 4? Show your work.", "What is 5 + 4?",
                 "What is 13 + 4?", "What is 3 + 4 + 2?")
    report, flagged = check(rows, BENCH)
    assert flagged == [0, 1, 4]
    kinds = {m["row"]: m["kind"] for m in report["worst"]}
    assert kinds == {"r0": "exact", "r1": "contained", "r4": "contained"}


def test_a_bare_final_answer_is_not_checked():
    report, flagged = check(_rows("Count the rolls.", response="31"), BENCH)
    assert flagged == [] and report["near_copies"] == 0


def test_a_long_item_is_flagged_by_one_shared_13_gram_and_not_by_12():
    words = LONG_Q.split()
    thirteen = " ".join(words[2:15])  # 13 tokens: "fills 4 trays ... the morning" has no punctuation
    assert len(tokens(thirteen)) == 13
    twelve = " ".join(words[2:14])
    report, flagged = check(_rows(f"Here is a story: {thirteen} and so on.", f"Here: {twelve} and so on."), BENCH)
    assert flagged == [0]
    assert report["worst"][0]["kind"] == "ngram" and 0 < report["worst"][0]["score"] < 1
    # the 13-gram rule's n is a parameter: with n = 12 the second row is flagged too
    assert check(_rows(f"Here: {twelve} and so on."), BENCH, Rule(n=12))[1] == [0]


def test_the_reference_answer_is_checked_too():
    code = "Sure:\n```python\ndef add_four(value):\n    total = value + 4\n    return total\n```"
    report, flagged = check(_rows("Explain.", response=code), BENCH)
    assert flagged == [0] and report["worst"][0]["item_field"] == "answer"


def test_near_copies_are_reported_not_flagged():
    # numbers changed (and one word, so that no 13-gram survives: with it, the 13-gram rule flags the row)
    changed = LONG_Q.replace("4 trays", "6 trays").replace("12 rolls", "15 rolls").replace("17", "20").replace(
        "morning", "evening")
    reordered = ("How many rolls does the baker still have? A baker fills 4 trays with 12 rolls each and "
                 "then sells 17 of the rolls at the morning market.")
    other = "A farmer plants 4 rows with 12 trees each. How many trees does the farmer plant in total?"
    rows = _rows(changed, "4 + 3 is what?", "What is 4 + 3?", "What is 5 + 3?", other)
    report, flagged = check(rows, BENCH)
    assert flagged == []
    near = {m["row"]: (m["item"], m["kind"]) for m in report["near_examples"]}
    assert report["near_copies"] == 3 and set(near) == {"r0", "r1", "r2"}
    assert near["r0"] == ("g1", "near") and near["r1"] == ("g2", "near")
    # a reordered long item still shares 13-grams: flagged, and then not counted as near as well
    report, flagged = check(_rows(reordered), BENCH)
    assert flagged == [0] and report["near_copies"] == 0


def test_the_report_counts_by_benchmark_and_puts_whole_copies_first():
    words = LONG_Q.split()
    rows = _rows("Intro " + " ".join(words[:14]) + " outro", SHORT_Q, "Clean question about apples and pears.",
                 "Name three colours of the rainbow in the order they appear.")
    report, flagged = check(rows, BENCH)
    assert report["rows_checked"] == 4 and report["rows_flagged"] == 3 and report["share"] == 0.75
    assert report["by_benchmark"] == {
        "gsm8k": {"items": 2, "rows_flagged": 2, "near_copies": 0},
        "other": {"items": 1, "rows_flagged": 1, "near_copies": 0},
    }
    assert [m["row"] for m in report["worst"]] == ["r1", "r3", "r0"]
    assert report["worst"][0] | {} == {**report["worst"][0], "benchmark": "gsm8k", "item": "g2", "item_field": "question"}

"""Live progress: events written per process and read by the display, the board's rows, plain lines and ETA,
the live display's cooperation with pytest's own lines, and the count callbacks of the library functions."""

import io
import json
import re

import pytest

from pytest_agorabench.pipeline.keys import Clock
from pytest_agorabench.report.progress import ProgressDisplay, choose_mode
from pytest_agorabench.report.progress_board import Board
from pytest_agorabench.report.progress_events import ProgressWriter, Tail
from pytest_agorabench.report.progress_terminal import TerminalTap
from pytest_agorabench.store import Store, progress_dir


class FakeClock:
    def __init__(self, t=1000.0):
        self.t = t

    def __call__(self):
        return self.t


def test_store_names_the_session_progress_folder(tmp_path):
    assert Store(tmp_path).progress_dir("s1") == progress_dir(tmp_path, "s1") == tmp_path.resolve() / "progress" / "s1"


def test_events_of_two_workers_reach_the_controller_and_give_rows_with_an_eta(tmp_path):
    clock = FakeClock()
    folder = tmp_path / "progress" / "session"
    gw0, gw1 = ProgressWriter(lambda: folder, "gw0", clock), ProgressWriter(lambda: folder, "gw1", clock)
    tail, board = Tail(folder), Board(show_worker=True)
    assert tail.poll() == []  # nothing written yet: no folder, no error
    with gw0.case("math/instance_generation") as ig, gw1.case("code/response_generation") as rg:
        ig("stage", stage="generation")
        ig("count", stage="generation", what="instances", done=0, total=10, dropped=0)
        rg("stage", stage="judging", detail="alpaca_eval")
        rg("count", stage="judging", what="judgments", done=5, total=25, part="alpaca_eval")
        clock.t += 20
        ig("count", stage="generation", what="instances", done=4, total=10, dropped=1)
        rg("count", stage="judging", what="judgments", done=15, total=25, part="alpaca_eval")
        for event in tail.poll():
            board.apply(event)
        assert sorted(p.name for p in folder.iterdir()) == ["gw0.jsonl", "gw1.jsonl"]
        rows = board.rows(clock.t)
        # 4 instances in 20 s: 6 more take 30 s. 10 judgments in 20 s (the 5 found cached do not count): 0:20.
        assert rows == [  # in the order they started, then by name
            ("code/response_generation [gw1]", "judging (alpaca_eval)", "-", "judgments 15/25", "0:20", "0:20"),
            ("math/instance_generation [gw0]", "generation", "instances 4/10, 1 dropped", "-", "0:30", "0:20"),
        ]
        clock.t += 10  # no news for 10 s: the ETA counts down
        assert [r[4] for r in board.rows(clock.t)] == ["0:10", "0:20"]
    ends = [line for event in tail.poll() for line in board.apply(event)]
    assert ends == ["agorabench math/instance_generation [gw0]: finished in 0:30",
                    "agorabench code/response_generation [gw1]: finished in 0:30"]
    assert board.rows(clock.t) == []


def test_tail_waits_for_a_line_still_being_written(tmp_path):
    path = tmp_path / "gw0.jsonl"
    path.write_text(json.dumps({"kind": "case_start", "case": "a"}) + "\n" + '{"kind": "sta')
    tail = Tail(tmp_path)
    assert [e["kind"] for e in tail.poll()] == ["case_start"]
    with open(path, "a") as fh:
        fh.write('ge", "case": "a", "stage": "seeds"}\n')
    assert [e.get("stage") for e in tail.poll()] == ["seeds"]
    assert tail.poll() == []


def test_eta_is_unknown_until_there_is_a_rate_and_ignores_resumed_work():
    board = Board()
    events = [
        {"kind": "case_start", "case": "c", "label": "math/x", "t": 0},
        {"kind": "stage", "case": "c", "stage": "generation", "t": 0},
        {"kind": "count", "case": "c", "stage": "generation", "what": "instances", "done": 50, "total": 100, "t": 1},
    ]
    for e in events:
        board.apply(e)
    assert board.rows(5)[0][4] == "-"  # 50 came from the journal at once: no rate yet
    board.apply({"kind": "count", "case": "c", "stage": "generation", "what": "instances", "done": 60, "total": 100,
                 "t": 11})
    assert board.rows(11)[0][4] == "0:40"
    board.apply({"kind": "stage", "case": "c", "stage": "training", "t": 12})
    assert board.rows(12)[0][1:5] == ("training", "instances 60/100, 0 dropped", "-", "-")  # uncounted stage


def test_plain_lines_say_each_stage_and_counts_at_most_every_30_seconds():
    board = Board()
    lines = []

    def apply(**event):
        lines.extend(board.apply({"case": "c", **event}))

    apply(kind="case_start", label="math/instance_generation", t=0)
    apply(kind="stage", stage="seeds", t=0)
    apply(kind="stage_end", stage="seeds", seconds=0.1, t=0.1)  # uncounted: the next stage line says it
    apply(kind="stage", stage="student_init", t=0.1)
    apply(kind="stage_end", stage="student_init", seconds=30.4, t=0.9)  # ...unless it took a while
    apply(kind="stage", stage="generation", t=1)
    apply(kind="count", stage="generation", what="instances", done=0, total=4, t=1)
    assert board.due_count_lines(10) == []  # under 30 s into the stage
    apply(kind="count", stage="generation", what="instances", done=2, total=4, dropped=1, t=21)
    assert board.due_count_lines(31) == [
        "agorabench math/instance_generation: generation instances 2/4, 1 dropped, ETA 0:10"]
    assert board.due_count_lines(70) == []  # counts did not move
    apply(kind="count", stage="generation", what="instances", done=3, total=4, dropped=1, t=45)
    assert board.due_count_lines(50) == []  # the last count line is under 30 s old
    assert len(board.due_count_lines(61)) == 1
    apply(kind="count", stage="generation", what="instances", done=4, total=4, dropped=1, t=96)
    apply(kind="stage_end", stage="generation", seconds=95.4, t=96)
    apply(kind="case_end", seconds=100, error="GenerationIncomplete", t=100)
    assert lines == [
        "agorabench math/instance_generation: seeds",
        "agorabench math/instance_generation: student_init",
        "agorabench math/instance_generation: student_init done in 0:30",
        "agorabench math/instance_generation: generation",
        "agorabench math/instance_generation: generation done in 1:35, instances 4/4, 1 dropped",
        "agorabench math/instance_generation: failed after 1:40 (GenerationIncomplete)",
    ]


def test_judgments_add_up_over_the_judged_benchmarks_of_a_case():
    board = Board()
    for e in [
        {"kind": "case_start", "label": "instruction_following/response_generation", "t": 0},
        {"kind": "stage", "stage": "judging", "detail": "alpaca_eval", "t": 0},
        {"kind": "count", "stage": "judging", "what": "judgments", "done": 30, "total": 30, "part": "alpaca_eval", "t": 1},
        {"kind": "stage", "stage": "judging", "detail": "arena_hard", "t": 2},
        {"kind": "count", "stage": "judging", "what": "judgments", "done": 4, "total": 40, "part": "arena_hard", "t": 3},
    ]:
        board.apply({"case": "c", **e})
    assert board.rows(3)[0][3] == "judgments 34/70"


@pytest.mark.parametrize("option, verbosity, isatty, shared, mode", [
    ("auto", 0, True, False, "live"),
    ("auto", 0, False, False, "plain"),
    ("auto", 0, True, True, "plain"),  # -s without xdist: test prints would tear the live rows
    ("auto", -1, True, False, "off"),  # -q
    ("live", -1, True, False, "off"),
    ("plain", 0, True, False, "plain"),
    ("live", 0, False, False, "live"),
    ("off", 2, True, False, "off"),
])
def test_mode(option, verbosity, isatty, shared, mode, monkeypatch):
    monkeypatch.delenv("TERM", raising=False)
    assert choose_mode(option, verbosity, isatty, shared) == mode


def test_dumb_terminal_gets_plain_lines(monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    assert choose_mode("auto", 0, True, False) == "plain"


def test_a_writer_that_cannot_write_warns_once_and_stops(tmp_path, capfd):
    blocker = tmp_path / "file"
    blocker.write_text("")
    writer = ProgressWriter(lambda: blocker / "progress", "gw0")  # a folder under a file: cannot be made
    with writer.case("math/x") as emit:
        emit("stage", stage="seeds")
    assert writer.broken
    err = capfd.readouterr().err
    assert err.count("agorabench: progress events off after an error") == 1


class Screen(io.StringIO):
    """A terminal for the live display: isatty, and ``screen()`` replays what was written (carriage return,
    newline, cursor up, erase line, colours ignored) to the lines a user would see at the end."""

    def isatty(self):
        return True

    def screen(self):
        lines, row, col = [""], 0, 0
        for tok in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|\r|\n|[^\x1b\r\n]+", self.getvalue()):
            if tok == "\r":
                col = 0
            elif tok == "\n":
                row, col = row + 1, 0
                lines += [""] * (row + 1 - len(lines))
            elif tok.startswith("\x1b["):
                number, code = re.match(r"\x1b\[\??(\d*)([A-Za-z])", tok).groups()
                if code == "A":
                    row = max(0, row - int(number or 1))
                elif code == "K":
                    lines[row] = ""
                elif code == "G":
                    col = int(number or 1) - 1
            else:
                line = lines[row].ljust(col)
                lines[row], col = line[:col] + tok + line[col + len(tok):], col + len(tok)
        lines = [line.rstrip() for line in lines]
        while lines and not lines[-1]:
            lines.pop()  # erased rows below the cursor: blank on a real terminal too
        return lines


def test_live_rows_leave_pytests_lines_as_pytest_wrote_them(monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")  # no real terminal to ask
    out = Screen()
    tap = TerminalTap(out, markup=True)
    tap.write("collected 3 items\n\ntest_math.py ")
    rows = [("math/instance_generation [gw1]", "generation", "instances 2/4, 0 dropped", "-", "0:10", "0:05")]
    tap.start_live(lambda: rows)
    during = out.screen()
    assert during[-2:] == ["test_math.py",
                           "math/instance_generation [gw1]  generation  instances 2/4, 0 dropped  -  ETA 0:10  0:05"]
    tap.write("\x1b[32m.\x1b[0m")  # a dot while the rows are up: drawn on pytest's line above them
    assert out.screen()[-2] == "test_math.py ."
    tap.write("\x1b[32m.\x1b[0m" + " " * 10 + "[ 66%]\ntest_code.py ")
    tap.stop_live()
    tap.write(".\n")
    assert out.screen() == ["collected 3 items", "", "test_math.py ..          [ 66%]", "test_code.py ."]


def test_plain_lines_go_on_lines_of_their_own():
    out = io.StringIO()
    tap = TerminalTap(out, markup=False)
    tap.write("test_math.py ")
    tap.line("agorabench math/x: generation")
    tap.write(".")
    tap.line("agorabench math/x: finished in 0:01")
    assert out.getvalue() == ("test_math.py \nagorabench math/x: generation\n.\nagorabench math/x: finished in 0:01\n")


def test_a_broken_display_warns_once_and_the_run_goes_on(tmp_path, capfd):
    class BrokenTap(TerminalTap):
        def line(self, text):
            raise OSError("terminal gone")

    writer = ProgressWriter(lambda: tmp_path, "main")
    display = ProgressDisplay(tmp_path, BrokenTap(io.StringIO(), False), "plain", show_worker=False)
    with writer.case("math/x") as emit:
        emit("stage", stage="seeds")
        display.tick()
        emit("stage", stage="generation")
        display.tick()
    display.stop()
    assert display.broken
    assert capfd.readouterr().err.count("agorabench: progress display off after an error") == 1


def test_clock_emits_stage_events_and_counts_without_changing_its_seconds():
    events = []
    clock = Clock(emit=lambda kind, **f: events.append((kind, f)))
    with clock.timed("evaluation", detail="gsm8k"):
        clock.counter("judging", "judgments", part="arena_hard")(3, 9)
    assert [k for k, _ in events] == ["stage", "count", "stage_end"]
    assert events[0][1] == {"stage": "evaluation", "detail": "gsm8k"}
    assert events[1][1] == {"stage": "judging", "what": "judgments", "done": 3, "total": 9, "dropped": 0,
                            "part": "arena_hard"}
    assert set(clock.seconds) == {"evaluation"} and events[2][1]["stage"] == "evaluation"
    quiet = Clock()
    with quiet.timed("seeds"):
        quiet.counter("generation", "instances")(1, 2)  # no emitter: nothing to call, nothing fails
    assert set(quiet.seconds) == {"seeds"}


def test_judge_requests_counts_cached_then_new_judgments(tmp_path, monkeypatch):
    from pytest_agorabench.evaluation import judge_runner
    from pytest_agorabench.evaluation.judgments import (
        JudgeRequest,
        JudgeSettings,
        Judgment,
    )

    reqs = [JudgeRequest(f"k{i}", str(i), "student", 0, "preference", "q", "a", f"b{i}", "B") for i in range(3)]
    cache = judge_runner.JudgmentCache(tmp_path, "judge/model")
    with cache.lock():
        cache.put(Judgment("k0", "A>B", None))

    def fake_run(todo, settings, cache, log_dir, tick=None):
        out = {}
        for r in todo:
            out[r.key] = Judgment(r.key, "B>A", None)
            tick()
        return out

    monkeypatch.setattr(judge_runner, "_run", fake_run)
    seen = []
    judge_runner.judge_requests(reqs, JudgeSettings("judge/model"), cache=judge_runner.JudgmentCache(tmp_path, "judge/model"),
                                log_dir=tmp_path, on_progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_run_generation_reports_journaled_then_new_instances(tmp_path):
    pytest.importorskip("inspect_ai")
    from inspect_ai.model import ModelOutput, ModelUsage, get_model

    from pytest_agorabench.files import Journal
    from pytest_agorabench.generation import run_generation
    from pytest_agorabench.settings import get_setting

    def answer(messages, tools, tool_choice, config):
        number = int(re.findall(r"Problem (\d+)\?", messages[-1].text)[-1])
        text = "no tags" if number == 1 else f"Steps.\n[RESULT] {number} [/RESULT]"  # problem 1 is dropped
        out = ModelOutput.from_content("mockllm/model", text, stop_reason="stop")
        out.usage = ModelUsage(input_tokens=10, output_tokens=5, total_tokens=15)
        return out

    seeds = [{"id": f"s{i}", "instruction": f"Problem {i}?", "response": "r", "source": "t"} for i in range(4)]
    journal = Journal(tmp_path / "journal.jsonl")
    journal.append({"id": "gen-00000", "instruction": "Problem 0?", "response": "Steps.\n[RESULT] 0 [/RESULT]"})
    seen = []
    run_generation(get_setting("math/response_generation"), seeds, model=get_model("mockllm/model", custom_outputs=answer),
                   instances=4, max_tokens=64, max_attempts=1, seed=1, demo_mix="intended", journal=journal,
                   log_dir=tmp_path / "logs", concurrency=1,
                   on_progress=lambda done, total, dropped: seen.append((done, total, dropped)))
    assert seen == [(1, 4, 0), (2, 4, 1), (3, 4, 1), (4, 4, 1)]  # the resumed instance first, then one by one


def test_pytests_text_gets_through_when_the_live_rows_break(capfd):
    class Broken:
        def refresh(self):
            raise RuntimeError("renderer gone")

    out = io.StringIO()
    tap = TerminalTap(out, markup=False)
    tap.write("test_math.py ")
    tap.live = Broken()
    tap.write(".")
    tap.write(".\n")
    assert out.getvalue() == "test_math.py \n..\n" and tap.live is None and tap.failed
    tap.start_live(list)  # no second try
    assert tap.live is None
    assert capfd.readouterr().err.count("agorabench: progress display off after an error") == 1

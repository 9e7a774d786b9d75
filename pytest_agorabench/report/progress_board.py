"""What the progress display knows about the running cases, built from their events (progress_events.py):
one row per case for the live display, and the plain lines for logs. Free of the terminal and of the clock
(``now`` is passed in), so it is tested on its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PLAIN_COUNT_EVERY_S = 30.0  # a count line per case at most this often: a CI log stays readable


@dataclass
class Counter:
    """Counts of one counted stage (instances, or judgments of one benchmark): the first count seen and the
    latest, for the rate that gives the ETA."""

    total: int
    done0: int
    t0: float
    done: int
    t: float
    dropped: int = 0


@dataclass
class CaseRow:
    label: str
    worker: str
    started: float
    stage: str = "starting"
    detail: str | None = None
    instances: Counter | None = None
    judgments: dict[str, Counter] = field(default_factory=dict)
    counting: str | None = None  # the stage whose counts drive the ETA, while it runs
    last_count_line: float = 0.0
    count_line_shown: tuple[int, ...] = ()


class Board:
    def __init__(self, show_worker: bool = False):
        self.cases: dict[str, CaseRow] = {}
        self.show_worker = show_worker

    def _name(self, row: CaseRow) -> str:
        return f"{row.label} [{row.worker}]" if self.show_worker else row.label

    def apply(self, event: dict[str, Any]) -> list[str]:
        """Take one event; return the plain lines it gives (stage changes, finished counts, case ends)."""
        kind, t = event.get("kind"), float(event.get("t", 0.0))
        if kind == "case_start":
            self.cases[event["case"]] = CaseRow(event.get("label", "?"), event.get("worker", "?"), t)
            return []
        row = self.cases.get(event.get("case", ""))
        if row is None:
            return []  # its start was never seen (a file from before the display began): nothing to add to
        name = self._name(row)
        if kind == "stage":
            row.stage, row.detail, row.counting = event["stage"], event.get("detail"), None
            row.last_count_line = t  # the stage line says where it stands; counts follow after a while
            return [f"agorabench {name}: {self.stage_text(row)}"]
        if kind == "count":
            self._count(row, event, t)
            return []
        if kind == "stage_end":
            took = f"{event['stage']} done in {clock_text(event.get('seconds'))}"
            if row.counting == event.get("stage"):
                row.counting = None
                return [f"agorabench {name}: {took}, {self.counts_text(row)}"]
            # An uncounted stage: the next stage's line says it ended; a long one says how long it took.
            return [f"agorabench {name}: {took}"] if event.get("seconds", 0) >= PLAIN_COUNT_EVERY_S else []
        if kind == "case_end":
            del self.cases[event["case"]]
            error = event.get("error")
            ending = f"failed after {clock_text(event.get('seconds'))} ({error})" if error else (
                f"finished in {clock_text(event.get('seconds'))}")
            return [f"agorabench {name}: {ending}"]
        return []

    def _count(self, row: CaseRow, event: dict[str, Any], t: float) -> None:
        done, total = int(event["done"]), int(event["total"])
        if event.get("what") == "judgments":
            part = str(event.get("part", ""))
            counter = row.judgments.get(part)
        else:
            part, counter = "", row.instances
        if counter is None or done < counter.done or total != counter.total:  # a new round (budget, rerun)
            counter = Counter(total, done, t, done, t)
        counter.done, counter.t, counter.dropped = done, t, int(event.get("dropped", 0))
        if event.get("what") == "judgments":
            row.judgments[part] = counter
        else:
            row.instances = counter
        row.counting = event.get("stage")

    def due_count_lines(self, now: float, every: float = PLAIN_COUNT_EVERY_S) -> list[str]:
        """Count lines of counted stages still running, each case at most once per ``every`` seconds and only
        when its counts moved."""
        lines = []
        for row in self.cases.values():
            current = self._current(row)
            if current is None or now - row.last_count_line < every:
                continue
            shown = (current.done, current.total, current.dropped)
            if shown == row.count_line_shown:
                continue
            row.last_count_line, row.count_line_shown = now, shown
            lines.append(f"agorabench {self._name(row)}: {self.stage_text(row)} {self.counts_text(row)}, "
                         f"ETA {eta_text(current, now)}")
        return lines

    def _current(self, row: CaseRow) -> Counter | None:
        if row.counting is None:
            return None
        if row.counting == "generation":
            return row.instances
        return row.judgments.get(row.detail or "") or next(reversed(row.judgments.values()), None)

    def rows(self, now: float) -> list[tuple[str, str, str, str, str, str]]:
        """(case, stage, instances, judgments, ETA, elapsed) per running case, for the live display."""
        out = []
        for row in sorted(self.cases.values(), key=lambda r: (r.started, r.label)):
            current = self._current(row)
            out.append((self._name(row), self.stage_text(row), instances_text(row.instances),
                        judgments_text(row.judgments), eta_text(current, now) if current else "-",
                        clock_text(now - row.started)))
        return out

    @staticmethod
    def stage_text(row: CaseRow) -> str:
        return f"{row.stage} ({row.detail})" if row.detail else row.stage

    @staticmethod
    def counts_text(row: CaseRow) -> str:
        return ", ".join(t for t in (instances_text(row.instances), judgments_text(row.judgments)) if t != "-")


def instances_text(counter: Counter | None) -> str:
    if counter is None:
        return "-"
    return f"instances {counter.done}/{counter.total}, {counter.dropped} dropped"


def judgments_text(judgments: dict[str, Counter]) -> str:
    if not judgments:
        return "-"
    return f"judgments {sum(c.done for c in judgments.values())}/{sum(c.total for c in judgments.values())}"


def eta(counter: Counter, now: float) -> float | None:
    """Seconds left at the rate seen since the stage's first count (work served from a cache or a journal
    before it is not a rate); None until there is a rate."""
    if counter.done >= counter.total:
        return 0.0
    if counter.done <= counter.done0 or counter.t <= counter.t0:
        return None
    rate = (counter.done - counter.done0) / (counter.t - counter.t0)
    return max(0.0, (counter.total - counter.done) / rate - (now - counter.t))


def eta_text(counter: Counter | None, now: float) -> str:
    left = None if counter is None else eta(counter, now)
    return "-" if left is None else clock_text(left)


def clock_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"

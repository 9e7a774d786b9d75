"""Live progress of the running cases on pytest's terminal, drawn by the process that owns the terminal (the
xdist controller, or the only process) from the events every process writes (progress_events.py).

- live: a TTY gets one row per running case, redrawn in place by rich's Live below pytest's own output.
- plain: other outputs (CI logs) get a line per stage change and a count line at most every 30 s per case.
- off: ``-q``, ``--agora-progress=off``; nothing is written at all.

Pytest keeps writing its dots and lines while a case runs, so its terminal writer's file is replaced by a
``TerminalTap`` (progress_terminal.py) for the session. Everything goes to a duplicate of the terminal's
descriptor: a case running in this process has stdout captured by pytest, and progress must not land in its
captured output (nor in JUnit). Progress never fails a run: an error turns it off after one warning line.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_agorabench.report.progress_board import Board
from pytest_agorabench.report.progress_events import ProgressWriter, Tail, warn_once
from pytest_agorabench.report.progress_terminal import TerminalTap

MODES = ("auto", "live", "plain", "off")
POLL_S = 0.25


def choose_mode(option: str, verbosity: int, isatty: bool, shared_stdout: bool) -> str:
    """live, plain or off. ``shared_stdout``: tests in this process print straight to the terminal (``-s``
    without xdist), which would tear a live display, so they get plain lines."""
    if option == "off" or verbosity < 0:
        return "off"
    if option in ("live", "plain"):
        return option
    return "live" if isatty and not shared_stdout and os.environ.get("TERM") != "dumb" else "plain"


class ProgressDisplay:
    """A daemon thread that tails the session's event files into a Board and shows it through the tap."""

    def __init__(self, folder: Path, tap: TerminalTap, mode: str, show_worker: bool, clock: Any = time.time):
        self.tail, self.tap, self.mode, self.clock = Tail(folder), tap, mode, clock
        self.board = Board(show_worker=show_worker)
        self._board_lock = threading.Lock()  # the live display's refresh thread reads it while we fill it
        self._tick_lock = threading.Lock()  # ticks come from our thread and from pytest's (at each report)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="agorabench-progress", daemon=True)
        self.broken = False

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(POLL_S):
            self.tick()

    def tick(self) -> None:
        with self._tick_lock:
            self._tick()

    def _tick(self) -> None:
        if self.broken:
            return
        try:
            events = self.tail.poll()
            with self._board_lock:
                lines = [line for event in events for line in self.board.apply(event)]
                if self.mode == "plain":
                    lines += self.board.due_count_lines(self.clock())
                running = bool(self.board.cases)
            if self.mode == "plain":
                for line in lines:
                    self.tap.line(line)
            elif running and self.tap.live is None:
                self.tap.start_live(self.rows)
            elif not running:
                self.tap.stop_live()  # between cases pytest has the terminal to itself
        except Exception as exc:  # noqa: BLE001 - progress must never fail a run
            self.broken = True
            warn_once("progress display", exc)
            try:
                self.tap.stop_live()
            except Exception:  # noqa: BLE001, S110 - already warned; the run goes on
                pass

    def rows(self) -> list[tuple[str, ...]]:
        with self._board_lock:
            return self.board.rows(self.clock())

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.tick()  # the last events (plain: the last case's end)
        with self._board_lock:
            self.board.cases.clear()
        try:
            self.tap.stop_live()
        except Exception as exc:  # noqa: BLE001
            warn_once("progress display", exc)


class ProgressPlugin:
    """Registered by plugin.py for the session: a writer in every process that runs cases, a display in the
    one that owns the terminal, and the session's event folder removed at the end."""

    def __init__(self, config: Any, folder: Path, worker: str | None, mode: str):
        self.config, self.folder, self.worker, self.mode = config, folder, worker, mode
        self.writer = ProgressWriter(lambda: folder, worker or "main") if mode != "off" else None
        self.display: ProgressDisplay | None = None
        self._tapped: tuple[Any, Any, TerminalTap] | None = None  # (pytest's terminal writer, its file, the tap)

    def pytest_sessionstart(self, session: Any) -> None:
        if self.worker is not None or self.mode == "off":
            return
        try:
            self._start_display()
        except Exception as exc:  # noqa: BLE001 - progress must never fail a run
            warn_once("progress display", exc)

    def _start_display(self) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        tw = getattr(reporter, "_tw", None)
        if tw is None or not hasattr(tw, "_file"):  # no terminal, or a pytest we do not know: no display
            return
        try:
            original = tw._file
            out = os.fdopen(os.dup(original.fileno()), "w", encoding="utf-8", errors="replace", buffering=1)
        except (AttributeError, OSError, ValueError):  # an in-process file with no descriptor
            out = original
        # Without a descriptor of its own, a thread's writes would land in a running test's capture.
        mode = "plain" if self.mode == "live" and out is original else self.mode
        tap = TerminalTap(out, markup=tw.hasmarkup)
        self._tapped = (tw, original, tap)
        tw._file = tap
        numprocesses = self.config.getoption("numprocesses", None)
        self.display = ProgressDisplay(self.folder, tap, mode, show_worker=bool(numprocesses))
        self.display.start()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: Any) -> None:
        """Before pytest writes a test's outcome: the events its case wrote so far (its end) come first."""
        if self.display is not None:
            self.display.tick()

    def pytest_sessionfinish(self, session: Any) -> None:
        """Before pytest's summary (its terminal reporter writes that after every plain sessionfinish)."""
        self._finish()

    def pytest_unconfigure(self, config: Any) -> None:
        self._finish()  # also after an interrupted session
        if self.worker is None:
            shutil.rmtree(self.folder, ignore_errors=True)
            try:
                self.folder.parent.rmdir()  # only when no other session of this store is running
            except OSError:
                pass

    def _finish(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.display is not None:
            display, self.display = self.display, None
            display.stop()
        if self._tapped is not None:
            (tw, original, tap), self._tapped = self._tapped, None
            tw._file = original
            if tap.out is not original:
                try:
                    tap.out.close()
                except Exception as exc:  # noqa: BLE001
                    warn_once("progress display", exc)


def progress_mode(config: Any) -> str:
    """The mode from ``--agora-progress``, ``-q`` and the terminal (decided on the controller; workers only
    need to know whether to write)."""
    option = config.getoption("agorabench_progress", None) or "auto"
    capture_none = config.getoption("capture", "fd") == "no" and not config.getoption("numprocesses", None)
    return choose_mode(option, config.getoption("verbose", 0), sys.stdout.isatty(), capture_none)

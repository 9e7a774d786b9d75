"""Pytest's terminal while progress is shown (progress.py): its terminal writer's file is replaced by a
``TerminalTap``. With live rows up (rich's Live), pytest's finished lines are printed above them and its
unfinished line (the dots) is drawn as their first row, so neither mangles the other; plain lines go on
lines of their own."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, TextIO

from pytest_agorabench.report.progress_events import warn_once

LIVE_REFRESH_PER_S = 2  # the ETA ticks; more would cost CPU on small machines for nothing


def _visible(line: str) -> str:
    return line.rsplit("\r", 1)[-1]  # xdist's status line rewrites itself with carriage returns


class TerminalTap:
    """Pytest's terminal file while progress is shown: passes pytest's text through, or above the live rows."""

    def __init__(self, out: TextIO, markup: bool):
        self.out = out
        self.markup = markup
        self.partial = ""  # what pytest wrote after its last newline
        self.lock = threading.RLock()
        self.live: Any = None
        self.failed = False  # the live rows broke once: pytest's text goes straight through from then on

    def write(self, text: str) -> int:
        with self.lock:
            if self.live is not None:
                try:
                    self._write_above(text)
                    return len(text)
                except Exception as exc:  # noqa: BLE001 - pytest's own output must get through
                    self.live, self.failed = None, True
                    warn_once("progress display", exc)
                    self.out.write("\n")
            self.out.write(text)
            self.partial = text.rsplit("\n", 1)[1] if "\n" in text else self.partial + text
        return len(text)

    def _write_above(self, text: str) -> None:
        from rich.text import Text

        *finished, partial = (self.partial + text).split("\n")
        if finished:
            shown = Text("\n").join(Text.from_ansi(_visible(line)) for line in finished)
            self.live.console.print(shown, soft_wrap=True, highlight=False)
        self.partial = partial
        self.live.refresh()

    def flush(self) -> None:
        with self.lock:
            self.out.flush()

    def isatty(self) -> bool:
        return self.out.isatty()

    def line(self, text: str) -> None:
        """A plain progress line, on a line of its own (pytest's dots go on below it)."""
        with self.lock:
            self.out.write(("\n" if self.partial else "") + text + "\n")
            self.partial = ""
            self.out.flush()

    def start_live(self, rows: Callable[[], list[tuple[str, ...]]]) -> None:
        from rich.console import Console, Group
        from rich.control import Control, ControlType
        from rich.live import Live
        from rich.table import Table
        from rich.text import Text

        def renderable() -> Any:
            table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
            for style in ("bold", "cyan", "", "", "green", "dim"):
                table.add_column(style=style, no_wrap=True, overflow="ellipsis")
            for row in rows():  # Text, not str: "[gw0]" is not rich markup
                table.add_row(*(Text(cell) for cell in (*row[:4], f"ETA {row[4]}", row[5])))
            return Group(Text.from_ansi(_visible(self.partial)), table) if self.partial else table

        with self.lock:
            if self.failed:
                return
            console = Console(file=self.out, force_terminal=True, no_color=not self.markup, highlight=False)
            try:
                console.width = os.get_terminal_size(self.out.fileno()).columns
            except (OSError, ValueError):
                pass  # keep rich's guess
            # pytest's unfinished line is erased here and drawn as the first live row
            console.control(Control((ControlType.CARRIAGE_RETURN,), (ControlType.ERASE_IN_LINE, 2)))
            live = Live(console=console, get_renderable=renderable, transient=True, redirect_stdout=False,
                        redirect_stderr=False, refresh_per_second=LIVE_REFRESH_PER_S)
            live.start(refresh=True)
            self.live = live

    def stop_live(self) -> None:
        with self.lock:
            if self.live is None:
                return
            live, self.live = self.live, None
            live.stop()  # transient: the rows are erased, the cursor is back where pytest's line starts
            self.out.write(_visible(self.partial))
            self.out.flush()

"""A user's folder of meta-prompt files in the official placeholder format (AGORABENCH.md 2.6).

One file per setting, named ``<domain>_<method>.txt`` (``math_instance_generation.txt``, ...), plus an
optional ``system.txt`` replacing the system message. Placeholders: instance generation
``<input1>``..``<input3>``, ``<output1>``..``<output3>``, ``<input_theme>``, ``<first_word>``
(instruction following); response generation ``<input>``; quality enhancement ``<input>`` and
``<output>``. The model's output is parsed like the default prompts' (INPUT:/OUTPUT:/[END], or
Revised Question:/Revised Answer:), which is the layout the official prompts ask for.

Every file is checked when the folder is loaded, so a typo fails the run before any model is called:

* Misspelled placeholders. Prompt text may hold other angle-bracket text (``<b>``, ``<code>``,
  ``vector<int>``, ``<answer>``), so only tokens that look like ours are checked: a ``<name>`` of
  letters, digits, ``_`` or ``-`` (any case) that is not a placeholder spelled exactly, and either starts
  with a stem of ours (``input``, ``output``, ``first``, ``theme``; any case) or is close to one of ours
  (difflib ratio >= 0.8: ``<imput>``, ``<ouput2>``). Such a token would reach the model literally, so it is
  an error naming the closest placeholder valid in that file. The price is that ``<output_format>`` or
  ``<firstname>`` cannot be used as literal text in a prompt file.
* JSON-formatted prompts (the official data-agora JSON files): a placeholder inside a JSON string
  template (``"instruction": "<input1>"``, ``["<input1>", ...]``) is refused, since demonstrations are
  inserted as raw text (an unescaped quote or newline breaks the JSON) and the answer is parsed as
  INPUT:/OUTPUT:, so every answer would be dropped. Our own JSON variant (``--agora-prompts=json``)
  escapes the demonstrations and parses JSON answers.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.generation.prompts.base import NUM_DEMOS
from pytest_agorabench.settings import SETTINGS, Method, Setting

SYSTEM_FILE = "system.txt"
# The official placeholder family; a bare <input>/<output> belongs to it only in RG/QE files.
PLACEHOLDER = re.compile(r"<(input\d+|output\d+|input_theme|first_word|input|output)>")

# Anything shaped like a placeholder; check_template decides which of these are would-be placeholders.
TOKEN = re.compile(r"<([A-Za-z][A-Za-z0-9_-]*)>")
_FAMILY_RE = r"(?:input\d*|output\d*|input_theme|first_word)"
# A placeholder inside a quoted JSON value ("key": "..<input1>..") or first array element (["<input1>").
# Plain prose that merely quotes a placeholder (begin with "<first_word>") has neither shape.
JSON_TEMPLATE = re.compile(rf'"[^"<>\n]*"\s*:\s*"[^"\n]*<{_FAMILY_RE}>|\[\s*"[^"\n]*<{_FAMILY_RE}>')
STEMS = ("input", "output", "first", "theme")
CLOSE = 0.8  # difflib ratio: catches one-letter slips in <input1> (0.83) yet leaves <int> (0.75) alone

_DEMO_SLOTS = tuple(f"{side}{k}" for k in range(1, NUM_DEMOS + 1) for side in ("input", "output"))
REQUIRED: dict[Method, frozenset[str]] = {
    Method.INSTANCE_GENERATION: frozenset(_DEMO_SLOTS),
    Method.RESPONSE_GENERATION: frozenset({"input"}),
    Method.QUALITY_ENHANCEMENT: frozenset({"input", "output"}),
}
ALLOWED: dict[Method, frozenset[str]] = {
    Method.INSTANCE_GENERATION: frozenset({*_DEMO_SLOTS, "input_theme", "first_word"}),
    Method.RESPONSE_GENERATION: frozenset({"input"}),
    Method.QUALITY_ENHANCEMENT: frozenset({"input", "output"}),
}
FAMILY = frozenset().union(*ALLOWED.values())


class PromptFolderError(AgoraBenchError, ValueError):
    """A prompt folder or file that cannot be used; the message names the file and the fix."""


def file_name(setting: Setting) -> str:
    return f"{setting.domain.value}_{setting.method.value}.txt"


@dataclass(frozen=True)
class PromptFolder:
    path: Path
    templates: Mapping[str, str]  # setting key -> template text
    system: str | None

    def template(self, setting: Setting) -> str:
        try:
            return self.templates[setting.key]
        except KeyError:
            raise PromptFolderError(
                f"prompt folder {self.path} has no {file_name(setting)} for {setting.key}; add it, or run "
                f"only the settings it covers ({', '.join(sorted(self.templates)) or 'none'})"
            ) from None


def valid_placeholders(setting: Setting) -> frozenset[str]:
    """The placeholders a file of ``setting`` may use (``<first_word>`` only in instruction following)."""
    allowed = ALLOWED[setting.method]
    if setting.domain.value != "instruction_following":
        allowed = allowed - {"first_word"}
    return allowed


def _looks_like_placeholder(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith(STEMS) or bool(difflib.get_close_matches(lowered, FAMILY, n=1, cutoff=CLOSE))


def _check_json_template(text: str, where: str) -> None:
    match = JSON_TEMPLATE.search(text)
    if match is None:
        return
    placeholder = PLACEHOLDER.search(match.group(0))
    assert placeholder is not None  # JSON_TEMPLATE only matches around one
    raise PromptFolderError(
        f"{where}: a JSON-formatted prompt ({placeholder.group(0)} sits inside a JSON string template) cannot "
        "work in a prompt folder: demonstrations are inserted as raw text, which breaks the JSON, and the "
        "answer is parsed as INPUT:/OUTPUT:, so every answer would be dropped; use --agora-prompts=json "
        "(our JSON variant) or rewrite the file as plain text asking for INPUT:/OUTPUT:/[END]"
    )


def _check_typos(text: str, setting: Setting, where: str) -> None:
    valid = sorted(valid_placeholders(setting))
    for match in TOKEN.finditer(text):
        # Exact placeholders (even <input4>) are judged by check_template's unknown/missing checks.
        if PLACEHOLDER.fullmatch(match.group(0)) or not _looks_like_placeholder(match.group(1)):
            continue
        closest = difflib.get_close_matches(match.group(1).lower(), valid, n=1, cutoff=0.0)[0]
        raise PromptFolderError(
            f"{where}: {match.group(0)} is not a placeholder, so it would reach the model literally; "
            f"did you mean <{closest}>? (valid in this file: {', '.join(f'<{v}>' for v in valid)})"
        )


def check_template(text: str, setting: Setting, where: str) -> None:
    # JSON first: such a file may pass every placeholder check and still be unusable.
    _check_json_template(text, where)
    # Typos before "missing": <inptu1> explains why <input1> is missing.
    _check_typos(text, setting, where)
    used = {m.group(1) for m in PLACEHOLDER.finditer(text)}
    method = setting.method
    if method is Method.INSTANCE_GENERATION:
        # <input>/<output> alone may be literal HTML in an instruction-generation prompt; not ours to judge.
        used -= {"input", "output"}
    unknown = sorted(used - ALLOWED[method])
    missing = sorted(REQUIRED[method] - used)
    if unknown:
        raise PromptFolderError(
            f"{where}: placeholder(s) {', '.join(f'<{u}>' for u in unknown)} are not used by "
            f"{method.value}; allowed: {', '.join(f'<{a}>' for a in sorted(ALLOWED[method]))}"
        )
    if missing:
        raise PromptFolderError(f"{where}: missing placeholder(s) {', '.join(f'<{m}>' for m in missing)}")
    if "first_word" in used and setting.domain.value != "instruction_following":
        raise PromptFolderError(f"{where}: <first_word> is only drawn for instruction following")


def load_folder(path: Path) -> PromptFolder:
    path = Path(path)
    if not path.is_dir():
        raise PromptFolderError(f"--agora-prompts: {path} is neither a prompt variant name nor a folder")
    by_name = {file_name(s): s for s in SETTINGS}
    templates: dict[str, str] = {}
    for file in sorted(path.glob("*.txt")):
        if file.name == SYSTEM_FILE:
            continue
        setting = by_name.get(file.name)
        if setting is None:
            raise PromptFolderError(
                f"{file}: unknown prompt file name; expected {SYSTEM_FILE} or one of {', '.join(sorted(by_name))}"
            )
        text = _read_text(file)
        check_template(text, setting, str(file))
        templates[setting.key] = text
    if not templates:
        raise PromptFolderError(f"prompt folder {path} holds no <domain>_<method>.txt file")
    system_path = path / SYSTEM_FILE
    system = _read_text(system_path).strip() if system_path.exists() else None
    return PromptFolder(path, templates, system or None)


def _read_text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptFolderError(f"{file}: cannot read it as UTF-8 text ({exc}); save it as UTF-8") from None


def fill(template: str, values: Mapping[str, str]) -> str:
    """One pass over the template, so a demonstration that contains ``<input2>`` is not filled again."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def placeholder_values(
    demos: Sequence[Mapping[str, str]], theme: str | None, opening: str | None, seed_row: Mapping | None
) -> dict[str, str]:
    values: dict[str, str] = {}
    for k, demo in enumerate(demos, start=1):
        values[f"input{k}"] = str(demo["instruction"]).strip()
        values[f"output{k}"] = str(demo["response"]).strip()
    if theme is not None:
        values["input_theme"] = theme
    if opening is not None:
        values["first_word"] = opening
    if seed_row is not None:
        values["input"] = str(seed_row["instruction"]).strip()
        if "response" in seed_row:
            values["output"] = str(seed_row["response"]).strip()
    return values

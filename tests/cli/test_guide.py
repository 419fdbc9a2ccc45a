"""The user guide (docs/guide.md) documents every command and option the `commune` CLI has,
and names no command it lacks (in the spirit of sqlite-utils' documentation tests).

A command counts as documented when the guide says `commune <full path>` somewhere; an option
when its long name appears in backticks or in a code block. Code blocks marked ```text hold what
commands print, so their lines are not read as commands.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from commune.cli.main import app

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide.md"
TEXT = GUIDE.read_text(encoding="utf-8")

_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
_INLINE = re.compile(r"`([^`\n]+)`")
#: Tokens that end one shell command and may start another on the same line.
_SEPARATORS = {"&&", "||", ";", "|", "&"}


def _blocks() -> list[tuple[str, str]]:
    """Every fenced code block as (info string, body)."""
    return [(m.group(1).strip(), m.group(2)) for m in _FENCE.finditer(TEXT)]


def _prose() -> str:
    return _FENCE.sub("", TEXT)


def _root():
    return typer.main.get_command(app)


def _is_group(command) -> bool:
    return hasattr(command, "commands")


def _walk(command=None, path: tuple[str, ...] = ()):
    """(full path, command) for every command and sub-group below the root."""
    command = command if command is not None else _root()
    for name, sub in sorted(command.commands.items()):
        yield (*path, name), sub
        if _is_group(sub):
            yield from _walk(sub, (*path, name))


def _long_name(param) -> str:
    names = [*param.opts, *param.secondary_opts]
    return next((n for n in names if n.startswith("--")), names[0])


def _options(command) -> list[str]:
    return [_long_name(p) for p in command.params if getattr(p, "param_type_name", "") == "option"]


def _mentions(name: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


def test_the_guide_walks_every_command() -> None:
    commands = [path for path, _ in _walk()]
    assert ("enterprise", "attest") in commands and ("steward", "confirm-deposit") in commands  # the walk recurses
    missing = [" ".join(path) for path in commands if not _mentions("commune " + " ".join(path), TEXT)]
    assert not missing, f"docs/guide.md never shows these commands as `commune …`: {', '.join(missing)}"


def test_the_guide_names_every_option() -> None:
    # Where an option counts as named: inline code in the prose, and every code block.
    code = "\n".join(_INLINE.findall(_prose())) + "\n" + "\n".join(body for _, body in _blocks())
    missing = []
    for label, command in [("commune", _root()), *((f"commune {' '.join(p)}", c) for p, c in _walk())]:
        for option in _options(command):
            if option != "--help" and not _mentions(option, code):
                missing.append(f"{label} {option}")
    assert not missing, f"docs/guide.md never names these options in backticks or a code block: {missing}"


def _command_lines() -> list[str]:
    """Each shell command in the guide's code blocks (not ```text) that runs `commune`."""
    found = []
    for info, body in _blocks():
        if info == "text":
            continue
        for line in body.splitlines():
            line = line.strip().removeprefix("$ ")
            if not line.startswith("commune ") and " commune " not in line:
                continue
            tokens = shlex.split(line, comments=True)
            start = 0
            for i, token in enumerate([*tokens, "&&"]):
                if token in _SEPARATORS:
                    segment = tokens[start:i]
                    if segment and segment[0] == "commune":
                        found.append(shlex.join(segment))
                    start = i + 1
    return found


def _resolve(line: str) -> str | None:
    """What is wrong with one `commune …` command line, or None."""
    tokens = shlex.split(line)[1:]
    command, path = _root(), ["commune"]
    while _is_group(command):
        if not tokens or tokens[0].startswith("-"):
            # The root alone takes --version/--help; a sub-group needs a sub-command.
            if path == ["commune"] and tokens and tokens[0] in ("--version", "--help"):
                return None
            return f"{' '.join(path)} needs a command (one of {', '.join(sorted(command.commands))})"
        name = tokens.pop(0)
        if name not in command.commands:
            return f"{' '.join(path)} has no command {name!r}"
        command, path = command.commands[name], [*path, name]
    known = {"--help", *(n for p in command.params for n in (*p.opts, *p.secondary_opts))}
    for token in tokens:
        option = token.split("=", 1)[0]
        if option.startswith("--") and option not in known:
            return f"{' '.join(path)} has no option {option}"
    return None


def test_the_guide_shows_command_lines() -> None:
    assert len(_command_lines()) > 30


@pytest.mark.parametrize("line", sorted(set(_command_lines())))
def test_every_command_in_the_guide_exists(line: str) -> None:
    problem = _resolve(line)
    assert problem is None, f"docs/guide.md shows `{line}`, but {problem}"


def test_a_mistyped_command_would_be_caught() -> None:
    assert _resolve("commune reprot me") == "commune has no command 'reprot'"
    assert _resolve("commune report me --json") is None
    assert _resolve("commune steward") is not None
    assert _resolve("commune serve --listen 127.0.0.1:7722 --lisen x") == "commune serve has no option --lisen"
    assert _resolve("commune enterprise attest Ben --enterprise Bakery -d ana") is None
    assert _resolve("commune --version") is None

"""Reading docs/protocol.md as the documentation tests do: a section by its title, the cells of
its tables, names in backticks, the field list of an encoded array."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec

PROTOCOL = Path(__file__).resolve().parents[1] / "docs" / "protocol.md"
#: A name as the rule and chain tables write it (lower case); the network tables also write
#: constants (upper case, dotted).
LOWER_NAME = r"[a-z_][a-z0-9_]*"


def part(doc: str, title: str, level: int | None = None) -> str:
    """The text under the first heading `## N. title`, `### N.M title` or `## Appendix: title`
    (of `level` #s, if given), up to the next heading of the same or a higher level."""
    hashes = f"#{{{level}}}" if level else "#{2,3}"
    pattern = re.compile(rf"^({hashes}) (?:[\d.]+|Appendix:) {re.escape(title)}\s*$", re.M)
    found = pattern.search(doc)
    assert found, f"docs/protocol.md has no section titled {title!r}"
    level = len(found.group(1))
    rest = doc[found.end() :]
    end = re.search(rf"^#{{2,{level}}} ", rest, re.M)
    return rest[: end.start()] if end else rest


def rows(text: str) -> list[list[str]]:
    """The cells of every table row in `text` (header and rule lines left out)."""
    out = []
    for line in text.splitlines():
        if not line.startswith("|") or re.match(r"^\|[\s|:-]+\|$", line):
            continue
        out.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return out


def code_name(cell: str, name: str = LOWER_NAME) -> str | None:
    """The first `name` (or `"name"`) in backticks at the start of a table cell."""
    m = re.match(rf'`"?({name})"?`', cell)
    return m.group(1) if m else None


def names_in_column(text: str, column: int, name: str = LOWER_NAME) -> list[str]:
    return [n for r in rows(text) if len(r) > column and (n := code_name(r[column], name)) is not None]


def field_names(cell: str) -> list[str]:
    """Field names of an array written as `[name: type, other: type]` in a cell."""
    m = re.search(r"`\[(.*?)\]`", cell)
    assert m, f"no [field: type, ...] array in {cell!r}"
    return re.findall(r"([a-z_][a-z0-9_]*):", m.group(1))


def struct_fields(cls: type) -> list[str]:
    return [f.name for f in msgspec.structs.fields(cls)]

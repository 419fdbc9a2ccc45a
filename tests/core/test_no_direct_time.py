"""No module reads the time of day except core/clock.py: everything else is given a Clock.

The check reads the syntax tree (comments and strings do not count) and follows imports and
aliases: `import time as t; t.time()`, `from datetime import datetime; datetime.now()` and
`from time import time_ns` are all caught. A reference counts as well as a call (passing
`time.time` as a callback reads the wall clock just the same). `time.perf_counter` is allowed:
it measures durations, not the time of day.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

import commune

PACKAGE = Path(commune.__file__).resolve().parent
ALLOWED = PACKAGE / "core" / "clock.py"

#: Fully qualified names that read the wall clock, whenever they are used.
FORBIDDEN = {
    "time.time",
    "time.time_ns",
    "time.monotonic",
    "time.monotonic_ns",
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.datetime.today",
    "datetime.date.today",
}
#: These read the wall clock only when called with no time argument.
FORBIDDEN_WITHOUT_ARGS = {"time.localtime", "time.gmtime", "time.ctime"}


def wall_clock_reads(source: str, filename: str = "<snippet>") -> list[tuple[int, str]]:
    """(line, qualified name) of every read of the time of day in `source`."""
    tree = ast.parse(source, filename)
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def qualified(expr: ast.expr) -> str | None:
        if isinstance(expr, ast.Name):
            return aliases.get(expr.id)
        if isinstance(expr, ast.Attribute):
            base = qualified(expr.value)
            return f"{base}.{expr.attr}" if base else None
        return None

    hits: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load):
            name = qualified(node)
            if name in FORBIDDEN:
                hits.append((node.lineno, name))
        if isinstance(node, ast.Call) and not node.args and not node.keywords:
            name = qualified(node.func)
            if name in FORBIDDEN_WITHOUT_ARGS:
                hits.append((node.lineno, name))
    return sorted(set(hits))


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_but_the_clock_reads_the_time_of_day():
    offenders = []
    for path in _sources():
        if path == ALLOWED:
            continue
        for line, name in wall_clock_reads(path.read_text(encoding="utf-8"), str(path)):
            offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {name}")
    assert not offenders, (
        "these read the system time directly; take a Clock (commune.core.clock) instead:\n" + "\n".join(offenders)
    )


def test_the_scan_covers_the_package():
    paths = _sources()
    assert ALLOWED in paths
    assert PACKAGE / "core" / "money.py" in paths
    assert len(paths) >= 10


def test_the_scanner_sees_the_clock_module_reading_the_time():
    # proves the scanner works on a real file: clock.py is the one place allowed to do this
    hits = wall_clock_reads(ALLOWED.read_text(encoding="utf-8"))
    assert "time.time_ns" in {name for _, name in hits}


@pytest.mark.parametrize(
    ("snippet", "name"),
    [
        ("import time\ntime.time()", "time.time"),
        ("import time\nx = time.time_ns()", "time.time_ns"),
        ("import time\ndeadline = time.monotonic() + 5", "time.monotonic"),
        ("import time as t\nt.time()", "time.time"),
        ("from time import time\ntime()", "time.time"),
        ("from time import time_ns as now\nnow()", "time.time_ns"),
        ("import datetime\ndatetime.datetime.now()", "datetime.datetime.now"),
        ("from datetime import datetime\ndatetime.now(tz=None)", "datetime.datetime.now"),
        ("from datetime import datetime as dt\ndt.utcnow()", "datetime.datetime.utcnow"),
        ("import datetime as d\nd.date.today()", "datetime.date.today"),
        ("from datetime import date\ndate.today()", "datetime.date.today"),
        ("import time\ndef f(cb=time.time):\n    return cb()", "time.time"),
        ("import time\ntime.localtime()", "time.localtime"),
    ],
)
def test_the_scanner_catches_each_form(snippet, name):
    assert name in {n for _, n in wall_clock_reads(snippet)}


@pytest.mark.parametrize(
    "snippet",
    [
        "import time\nstart = time.perf_counter()\nelapsed = time.perf_counter_ns() - start",
        "# time.time() in a comment\nx = 1",
        "s = 'datetime.now() in a string'",
        '"""time.time() in a docstring"""',
        "import time\ntime.sleep(0.1)",
        "import time\ntime.localtime(0)",
        "from datetime import datetime\ndatetime.fromtimestamp(0)",
        "from datetime import date\ndate(2026, 1, 1)",
        "def time():\n    return 0\ntime()",
        "class C:\n    def now(self):\n        return 0\nC().now()",
    ],
)
def test_the_scanner_lets_harmless_code_pass(snippet):
    assert wall_clock_reads(textwrap.dedent(snippet)) == []

"""What every `commune` command shares: the app, the consoles, the data directory, the clock,
and turning an error into one plain sentence and an exit code."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from commune.core.clock import Clock, FileClock, SystemClock
from commune.core.errors import CommuneError
from commune.rules.refusal import RuleRefused

app = typer.Typer(
    help="commune: the software of a venture commune, run end to end by its members.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

#: Exit code for an error a person caused and can fix (bad input, a missing file).
EXIT_USER_ERROR = 2
#: Exit code when a peer could not be reached or refused.
EXIT_NETWORK = 3
#: Exit code when the rules refuse what was asked (the message says which rule and what to do).
EXIT_REFUSED = 4

DEFAULT_DIR = Path.home() / ".commune"

DirOption = typer.Option(
    DEFAULT_DIR,
    "--dir",
    "-d",
    envvar="COMMUNE_DIR",
    help="The node's data directory (its key, stores and peers). Default ~/.commune, or $COMMUNE_DIR.",
)
JsonOption = typer.Option(False, "--json", help="Print the result as JSON, for programs.")

_NETWORK_REASONS = {
    "unreachable",
    "handshake",
    "wrong_peer_key",
    "inviter_unreachable",
    "sync_incomplete",
    "link_closed",
}


def exit_code_for(exc: CommuneError) -> int:
    if isinstance(exc, RuleRefused):
        return EXIT_REFUSED
    if exc.reason in _NETWORK_REASONS:
        return EXIT_NETWORK
    return EXIT_USER_ERROR


def fail(exc: CommuneError) -> typer.Exit:
    text = f"refused ({exc.reason}): {exc.message}" if isinstance(exc, RuleRefused) else exc.message
    # The message may quote what a person typed: never read it as markup.
    err_console.print(f"[bold red]error:[/] {escape(text)}", highlight=False, soft_wrap=True)
    return typer.Exit(exit_code_for(exc))


@contextmanager
def plain_errors() -> Iterator[None]:
    """Run a command body: a CommuneError becomes one sentence on stderr and an exit code."""
    try:
        yield
    except CommuneError as exc:
        raise fail(exc) from None


def clock() -> Clock:
    """The system clock, or the shared simulated clock of a demo or test (COMMUNE_CLOCK_FILE)."""
    path = os.environ.get("COMMUNE_CLOCK_FILE")
    return FileClock(path) if path else SystemClock()

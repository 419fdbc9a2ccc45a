"""The `commune` command: plain words, errors a person can act on, no tracebacks for mistakes."""

from __future__ import annotations

from pathlib import Path

import typer

from commune import __version__
from commune.cli import node_commands, report_commands, stock_commands  # noqa: F401  (register the commands)
from commune.cli.common import EXIT_USER_ERROR, app, console, fail
from commune.core.errors import CommuneError
from commune.core.keyfile import create_key_file, load_key_file

key_app = typer.Typer(help="Your secret key: the one thing that makes you you in the commune.", no_args_is_help=True)
app.add_typer(key_app, name="key")

KEY_FILE = "secret.key"


def version_callback(value: bool) -> None:
    if value:
        console.print(f"commune {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """commune: the software of a venture commune, run end to end by its members."""


@key_app.command("new")
def key_new(data_dir: Path = typer.Argument(..., help="The node's data directory (created if missing).")) -> None:
    """Create a new secret key in DATA_DIR (never replaces an existing one)."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        key = create_key_file(data_dir / KEY_FILE)
    except CommuneError as exc:
        raise fail(exc) from None
    console.print(f"new key written to {data_dir / KEY_FILE} (mode 600); back it up somewhere safe")
    console.print(f"public key: {key.public.hex()}")


@key_app.command("show")
def key_show(data_dir: Path = typer.Argument(..., help="The node's data directory.")) -> None:
    """Print the public key of the secret key in DATA_DIR."""
    try:
        key = load_key_file(data_dir / KEY_FILE)
    except CommuneError as exc:
        raise fail(exc) from None
    console.print(key.public.hex())


@app.command()
def demo(
    keep: Path = typer.Option(None, "--keep", help="Keep the demo's files in this directory, not a temporary one."),
) -> None:
    """Play a year of a small commune on four real nodes on loopback (a simulated clock), in about 15 seconds."""
    from commune.cli.demo import run_demo

    try:
        run_demo(console, keep)
    except CommuneError as exc:
        raise fail(exc) from None


__all__ = ["EXIT_USER_ERROR", "KEY_FILE", "app"]

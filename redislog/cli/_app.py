"""The typer application every command module adds its commands to."""

from __future__ import annotations

from typing import Annotated

import typer

from redislog import __version__

EPILOG = (
    "Exit status, as grep's: 0 when something was found or done; 1 when nothing "
    "was (no record matched, no such log key); 2 on an error (bad usage, the server "
    "cannot be reached or refuses the password, a key of another type). "
    "130 after Ctrl-C, 143 after SIGTERM."
    "\n\n"
    "Shell completion: redislog --install-completion (bash, zsh, fish, PowerShell), "
    "then open a new shell."
)

app = typer.Typer(
    name="redislog",
    help="View, write and trim logs that redislog keeps in Redis.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"redislog {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit"
        ),
    ] = False,
) -> None:
    """View, write and trim logs that redislog keeps in Redis."""

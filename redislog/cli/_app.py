"""The typer application every command module adds its commands to."""

from __future__ import annotations

from typing import Annotated

import typer

from redislog import __version__

app = typer.Typer(
    name="redislog",
    help="View, write and trim logs that redislog keeps in Redis.",
    no_args_is_help=True,
    add_completion=False,
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

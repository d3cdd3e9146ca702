"""The command line: each command parses options, makes one library call, renders, and exits."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from cpor_excel import __version__
from cpor_excel.errors import CporError

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Turn a CporError into one `Error:` line on stderr and its exit code; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CporError as err:
            click.echo(f"Error: {err}", err=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo(
                "Error: interrupted; no workbook was left half-written (every save is atomic).", err=True
            )
            sys.exit(3)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cpor-excel")
def main() -> None:
    """Check, track and report Microsoft CPOR work kept in Excel workbooks."""


# Each module registers its commands on `main` (imported last: they need `main` and `handle_errors`).
from cpor_excel.cli import (  # noqa: E402
    commands_batch,
    commands_book,
    commands_create,
    commands_excel,
    commands_mail,
    commands_usage,
)

__all__ = [
    "commands_batch",
    "commands_book",
    "commands_create",
    "commands_excel",
    "commands_mail",
    "commands_usage",
    "handle_errors",
    "main",
]

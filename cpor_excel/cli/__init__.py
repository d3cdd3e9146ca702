"""The command line: each command parses options, makes one library call, renders, and exits."""

from __future__ import annotations

import functools
import gc
import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from cpor_excel.errors import CporError, os_error
from cpor_excel.runtime import paused_gc
from cpor_excel.version import __version__

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
        except OSError as err:  # what the library did not put in words itself (a file of an option)
            click.echo(f"Error: {os_error(err, err.filename or 'a file')}", err=True)
            sys.exit(3)
        except KeyboardInterrupt:
            click.echo(
                "Error: interrupted; no workbook was left half-written (every save is atomic).", err=True
            )
            sys.exit(3)

    return wrapper  # type: ignore[return-value]


@contextmanager
def one_run() -> Iterator[None]:
    """A command that runs one workbook, renders its report and exits: the cycle collector stays paused
    until then. A run pauses it for its own work, but its report outlives that pause (a finding per problem:
    130,000 on a messy 5,000-customer workbook), and the first collection after it would walk all of them
    once more (0.1-0.3 s), only for the process to exit; so would the interpreter's exit, which is why what
    is alive once the report is rendered is frozen out of the collector's sight (``gc.freeze``). By then the
    run has saved and closed the workbook, its drafts, its lock and its temporary files itself; on an error,
    the process exits as usual."""
    with paused_gc():
        yield
    gc.freeze()


#: command -> the module that registers it on ``main``; a module is imported when its command is used,
#: so `cpor-excel run` does not load pandas for the batch report before it starts reading the workbook
COMMANDS = {
    "check": "commands_book",
    "run": "commands_book",
    "new": "commands_create",
    "sample": "commands_create",
    "send": "commands_mail",
    "drafts-to-mailbox": "commands_mailbox",
    "import-usage": "commands_usage",
    "import-earnings": "commands_earnings",
    "batch": "commands_batch",
    "excel-addin": "commands_excel",
    "excel-workbook": "commands_excel",
}


class LazyGroup(click.Group):
    """A group whose commands' modules are imported on first use (click's lazy subcommand pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(f"cpor_excel.cli.{COMMANDS[cmd_name]}")
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cpor-excel")
def main() -> None:
    """Check, track and report Microsoft CPOR work kept in Excel workbooks."""


__all__ = ["COMMANDS", "handle_errors", "main", "one_run"]

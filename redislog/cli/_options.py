"""Options that several commands share, each declared once.

A group of options is a frozen dataclass whose fields carry their typer
declarations.  A command names a group as one keyword-only parameter
(``filtering: Filtering``); :func:`grouped` gives the command every option of
the group in its place, and hands the parsed values over as one instance of
the group, built by keyword.  Each group turns its values into what the
command needs (a ``filters.Query``, a ``render.Renderer``...), exiting with
status 2 and one line on bad usage.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import shutil
import sys
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

import typer

from redislog import filters, ingest, keys, render, selection, writer
from redislog.cli._session import fail

_KEYWORD = inspect.Parameter.KEYWORD_ONLY
_FILTERS = "Filters"
_OUTPUT = "Output"


class Group:
    """A group of options (see :func:`grouped`): a dataclass."""

    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]


def grouped(command: Callable[..., None]) -> Callable[..., None]:
    """Give *command* the options of each :class:`Group` it takes.

    The command's signature, as typer reads it, has the group's fields in
    place of the group's parameter; the command itself gets the group.
    """
    signature = inspect.signature(command)
    hints = typing.get_type_hints(command, include_extras=True)
    groups: dict[str, type[Group]] = {}
    parameters = []
    for parameter in signature.parameters.values():
        hint = hints.get(parameter.name, parameter.annotation)
        if isinstance(hint, type) and issubclass(hint, Group):
            groups[parameter.name] = hint
            parameters += _options(hint)
        else:
            parameters.append(parameter.replace(kind=_KEYWORD, annotation=hint))

    @functools.wraps(command)
    def run(**values: Any) -> None:
        for name, group in groups.items():
            names = [field.name for field in dataclasses.fields(group)]
            values[name] = group(**{field: values.pop(field) for field in names})
        command(**values)

    run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
    return run


def _options(group: type[Group]) -> list[inspect.Parameter]:
    """The parameters typer reads for the fields of *group*."""
    types = typing.get_type_hints(group)
    return [
        inspect.Parameter(
            field.name,
            _KEYWORD,
            default=field.default,
            annotation=Annotated[types[field.name], field.metadata["option"]],
        )
        for field in dataclasses.fields(group)
    ]


# -- arguments and options of their own ---------------------------------------------

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        metavar="URL",
        help="Redis URL [default: $REDISLOG_URL, $REDIS_URL, else the embedded server]",
        show_default=False,
    ),
]
KeysArgument = Annotated[
    list[str] | None,
    typer.Argument(
        help="Log keys, or globs over the known log keys [default: all of them]",
        show_default=False,
        metavar="[KEY]...",
    ),
]


#: The largest count a count option takes (``all`` means every record).
MAX_COUNT = 1_000_000_000


def count(option: str, text: str, *, least: int = 0) -> int | None:
    """A count option: a whole number from *least* up, or ``all`` (None)."""
    word = text.strip().lower()
    if word == "all":
        return None
    if not (word.isascii() and word.isdigit()) or int(word[:12]) < least:
        fail(f"bad {option} {text!r}: use a whole number from {least}, or all")
    if len(word) > 10 or int(word) > MAX_COUNT:
        fail(f"bad {option} {text!r}: at most {MAX_COUNT:,} (all means every record)")
    return int(word)


def context(option: str, text: str | None) -> int:
    """A number of records of context (``-A``, ``-B``, ``-C``)."""
    if text is None:
        return 0
    value = count(option, text)
    if value is None:
        fail(f"bad {option} {text!r}: use a whole number from 0")
    return value


#: The longest duration a duration option takes (seconds).
MAX_DURATION = 1000 * 86400


def duration(option: str, text: str) -> int:
    """A duration option (``15m``) in whole seconds, at least one."""
    now = time.time()
    try:
        seconds = now - filters.parse_time(text, now)
    except filters.FilterError:
        seconds = 0.0
    if (
        not text.strip()[:1].isdigit()
        or not 1 <= seconds <= MAX_DURATION
        or seconds != int(seconds)
    ):
        fail(f"bad {option} {text!r}: use a duration like 30s, 5m, 1h or 1d (at most 1000d)")
    return int(seconds)


# -- filters ------------------------------------------------------------------------


def _option(*flags: str, help: str, panel: str | None = None, **details: Any) -> Any:
    """A group's field that is the command-line option *flags*."""
    default = details.pop("default", None)
    option = typer.Option(*flags, help=help, rich_help_panel=panel, **details)
    return dataclasses.field(default=default, metadata={"option": option})


def _filter(*flags: str, **details: Any) -> Any:
    return _option(*flags, panel=_FILTERS, **details)


@dataclass(frozen=True)
class Filtering(Group):
    """Which records to show (``tail``, ``search``, ``stats``)."""

    level: str | None = _filter(
        "-p", "--level", metavar="LEVEL",
        help="Only this level and worse (error), or a range from the less to the more "
        "severe (info..error)",
    )  # fmt: skip
    logger: list[str] | None = _filter(  # noqa: RUF009 - it makes a field()
        "-l", "--logger", metavar="NAME", show_default=False,
        help="Only this logger and its children (repeat for several)",
    )  # fmt: skip
    grep: str | None = _filter(
        "-g", "--grep", metavar="REGEX",
        help="Only records whose message or traceback matches this regex "
        "(ignores case if all lower-case)",
    )  # fmt: skip
    exclude: list[str] | None = _filter(  # noqa: RUF009 - it makes a field()
        "-e", "--exclude", metavar="REGEX",
        help="Drop records whose message or traceback matches this regex (repeatable)",
        show_default=False,
    )  # fmt: skip
    case_sensitive: bool = _filter(
        "--case-sensitive", default=False, help="Match --grep and --exclude case-sensitively"
    )
    field: list[str] | None = _filter(  # noqa: RUF009 - it makes a field()
        "-k", "--field", metavar="COND", show_default=False,
        help=(
            "Field condition: key=v, key!=v, key~regex, key>n, key>=n, key<n, "
            "key<=n, key (present), !key (absent); a.b for nested keys (repeatable)"
        ),
    )  # fmt: skip
    since: str | None = _filter(
        "-S", "--since", metavar="WHEN",
        help="Only records from then on: a time ago (10m, 2h30m, 1d, -5m or 5m ago, "
        "all the same), HH:MM[:SS] today, today, yesterday, now, @EPOCH, or ISO 8601 "
        "(local time unless it has a zone)",
    )  # fmt: skip
    until: str | None = _filter(
        "-U", "--until", metavar="WHEN", help="Only records until then (as --since)"
    )

    def query(self) -> filters.Query:
        """The query these options spell."""
        try:
            return filters.parse_query(
                level=self.level,
                loggers=self.logger or (),
                grep=self.grep,
                fields=self.field or (),
                since=self.since,
                until=self.until,
                case_sensitive=True if self.case_sensitive else None,
                exclude=self.exclude or (),
            )
        except filters.FilterError as exc:
            fail(str(exc), 2)


# -- output -------------------------------------------------------------------------


def _shown(*flags: str, **details: Any) -> Any:
    return _option(*flags, panel=_OUTPUT, **details)


def _color() -> Any:
    return _shown(
        "--color", metavar="WHEN", default="auto",
        help="auto, always or never (auto honors NO_COLOR and FORCE_COLOR)",
    )  # fmt: skip


def _flag(*flags: str, help: str) -> Any:
    return _shown(*flags, default=False, help=help)


def _no_color() -> Any:
    return _flag("--no-color", help="Same as --color never")


def _utc() -> Any:
    return _flag("--utc", help="Show times in UTC, marked Z")


def _quiet() -> Any:
    return _flag("-q", "--quiet", help="No notices on stderr (errors still show)")


UtcOption = Annotated[bool, _utc().metadata["option"]]


@dataclass(frozen=True)
class Output(Group):
    """How ``tail`` and ``search`` show records."""

    output: str = _shown(
        "-o", "--output", metavar="MODE", default="pretty",
        help="pretty, json (alias jsonl), logfmt or cat (alias raw: the message only, "
        "no traceback)",
    )  # fmt: skip
    color: str = _color()
    no_color: bool = _no_color()
    utc: bool = _utc()
    time_format: str = _shown(
        "-t", "--time", metavar="FORMAT", default="time",
        help="How pretty output shows times: time (HH:MM:SS.mmm), full (with the date, "
        "alias date), iso (ISO 8601 with the offset), unix (epoch seconds) or rel (3m12s ago)",
    )  # fmt: skip
    fields: list[str] | None = _shown(  # noqa: RUF009 - it makes a field()
        "--fields", metavar="LIST", show_default=False,
        help="Show these fields, in this order, in pretty and logfmt output: keys, a.b "
        "paths or globs, comma-separated (host,pid,http.*)",
    )  # fmt: skip
    hide: list[str] | None = _shown(  # noqa: RUF009 - it makes a field()
        "--hide", metavar="LIST", show_default=False,
        help="Hide these fields in pretty and logfmt output (as --fields)",
    )  # fmt: skip
    full: bool = _flag("--full", help="Never shorten long values on screen")
    single_line: bool = _flag(
        "--single-line", help="One line per record: newlines shown as \\n, tracebacks as fields"
    )
    quiet: bool = _quiet()

    def renderer(self) -> render.Renderer:
        """A renderer to stdout in this mode."""
        try:
            chosen = selection.parse_selection(self.fields or (), self.hide or ())
            if chosen.fields or chosen.hide:
                mode = render.parse_output(self.output)
                if mode not in ("pretty", "logfmt"):
                    fail(f"--fields and --hide apply to pretty and logfmt output, not {mode}", 2)
            return render.Renderer(
                self.output,
                color="never" if self.no_color else self.color,
                utc=self.utc,
                full=self.full,
                file=sys.stdout,
                single_line=self.single_line,
                time_format=self.time_format,
                selection=chosen,
                width=_terminal_width(),
            )
        except ValueError as exc:
            fail(str(exc), 2)


def _terminal_width() -> int | None:
    """The width of the terminal on stdout ($COLUMNS first); None for a pipe."""
    try:
        if not sys.stdout.isatty():
            return None
    except (AttributeError, ValueError, OSError):
        return None
    return shutil.get_terminal_size().columns


@dataclass(frozen=True)
class ChartOutput(Group):
    """How ``stats`` shows its counts."""

    output: str = _shown("-o", "--output", metavar="MODE", default="pretty", help="pretty or json")
    color: str = _color()
    no_color: bool = _no_color()
    utc: bool = _utc()
    quiet: bool = _quiet()

    @property
    def json(self) -> bool:
        """JSON for scripts, else the chart."""
        mode = self.output.strip().lower()
        mode = render.OUTPUT_ALIASES.get(mode, mode)
        if mode not in ("pretty", "json"):
            fail(f"unknown output {self.output!r} for stats: use pretty or json", 2)
        return mode == "json"

    @property
    def colored(self) -> bool:
        """Whether the chart is in colour."""
        try:
            return render.use_color("never" if self.no_color else self.color, sys.stdout)
        except ValueError as exc:
            fail(str(exc), 2)


# -- writing ------------------------------------------------------------------------


@dataclass(frozen=True)
class Writing(Group):
    """What ``send`` and ``pipe`` write, and where."""

    level: str = _option(
        "-p", "--level", metavar="LEVEL", default="info",
        help="Level of the records: debug, info, notice, warning, error, critical "
        "(or d/i/w/e/c, a number)",
    )  # fmt: skip
    logger: str | None = _option(
        "-l", "--logger", metavar="NAME", show_default=False,
        help="Logger of the records [default: your user name]",
    )  # fmt: skip
    maxlen: int | None = _option(
        "--maxlen", metavar="N", envvar="REDISLOG_MAXLEN", min=1, show_default=False,
        help=f"Cap of the list [default: the cap the log has, else {writer.MAXLEN}]",
    )  # fmt: skip
    quiet: bool = _option(
        "-q", "--quiet", default=False, help="No notices or warnings on stderr (errors still show)"
    )

    def level_of_records(self) -> tuple[str, int]:
        """The records' level name and number."""
        try:
            return ingest.parse_level(self.level)
        except ingest.IngestError as exc:
            fail(str(exc), 2)

    def logger_of_records(self) -> str:
        """The records' logger."""
        return self.logger if self.logger is not None else ingest.default_logger()


def log_key(key: str) -> str:
    """*key* if it can name a log; else exit with status 2."""
    try:
        return keys.check(key)
    except ValueError as exc:
        fail(str(exc), 2)

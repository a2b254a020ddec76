"""structlog's own documented setups, with RedisHandler among the handlers.

The configuration below is the dictConfig recipe of structlog's "Standard
Library Logging" chapter, as written there, with a RedisHandler added; the
README's ``to_record`` recipe is tested beside a structlog console handler.
"""

from __future__ import annotations

import io
import logging
import logging.config
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import structlog

import redislog.structlog
from redislog.handler import RecordFormatter
from tests.support import stored

Configure = Callable[[dict[str, Any] | None], None]


@pytest.fixture(autouse=True)
def _fresh_loggers() -> None:
    """The loggers used here as if never used: an earlier dictConfig may
    have disabled them."""
    for name in ("billing", "stdlog"):
        logger = logging.getLogger(name)
        logger.disabled = False
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


@pytest.fixture
def recipe(redis_url: str, key: str, tmp_path: Any) -> Iterator[Configure]:
    """structlog's dictConfig recipe with RedisHandler, given its formatter."""

    def configure(redis_formatter: dict[str, Any] | None) -> None:
        timestamper = structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S")
        pre_chain = [
            structlog.stdlib.add_log_level,
            structlog.stdlib.ExtraAdder(),
            timestamper,
        ]
        formatters: dict[str, Any] = {
            "plain": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.dev.ConsoleRenderer(colors=False),
                ],
                "foreign_pre_chain": pre_chain,
            },
        }
        redis_handler: dict[str, Any] = {
            "level": "DEBUG",
            "class": "redislog.RedisHandler",
            "url": redis_url,
            "key": key,
        }
        if redis_formatter is not None:
            formatters["redis"] = {**redis_formatter, "foreign_pre_chain": pre_chain}
            redis_handler["formatter"] = "redis"
        logging.config.dictConfig(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "formatters": formatters,
                "handlers": {
                    "file": {
                        "level": "DEBUG",
                        "class": "logging.FileHandler",
                        "filename": str(tmp_path / "test.log"),
                        "formatter": "plain",
                    },
                    "redis": redis_handler,
                },
                "loggers": {
                    "": {"handlers": ["file", "redis"], "level": "DEBUG", "propagate": True}
                },
            }
        )
        structlog.configure(
            processors=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.PositionalArgumentsFormatter(),
                timestamper,
                structlog.processors.StackInfoRenderer(),
                structlog.processors.format_exc_info,
                structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
            ],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
            cache_logger_on_first_use=True,
        )

    yield configure
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    # Those dictConfig made before failing too.
    for name in ("file", "redis"):
        made = logging._handlers.get(name)  # type: ignore[attr-defined]
        if made is not None:
            made.close()


def log_the_recipe_events() -> None:
    log = structlog.get_logger("billing")
    log.info("charged", order_id=42, amount=12.5)
    log.warning("card declined %s", "4242", order_id=43)
    logging.getLogger("stdlog").info("woo", extra={"user": "ann"})
    try:
        1 / 0  # noqa: B018 - the exception is the point
    except ZeroDivisionError:
        log.exception("failed", order_id=44)
    for handler in logging.getLogger().handlers:
        handler.flush()


JSON_FORMATTER = {
    "()": structlog.stdlib.ProcessorFormatter,
    "processors": [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.processors.JSONRenderer(),
    ],
}


@pytest.mark.parametrize("formatter", [None, JSON_FORMATTER], ids=["no formatter", "JSON"])
def test_the_recipe_stores_events_as_messages_and_key_values_as_fields(
    recipe: Configure, client: redis.Redis, key: str, formatter: dict[str, Any] | None
) -> None:
    """With no formatter or a JSON-rendering one on RedisHandler, structlog
    events and stdlib records alike keep their message and their fields,
    and a traceback is stored once, as ``exc``."""
    recipe(formatter)
    log_the_recipe_events()
    records = {r["msg"]: r for r in stored(client, key) if r["logger"] in ("billing", "stdlog")}
    assert set(records) == {"charged", "card declined 4242", "woo", "failed"}
    charged = records["charged"]
    assert (charged["order_id"], charged["amount"]) == (42, 12.5)
    assert (charged["level"], charged["logger"]) == ("INFO", "billing")
    assert records["card declined 4242"]["order_id"] == 43
    assert records["woo"]["user"] == "ann"
    failed = records["failed"]
    assert failed["order_id"] == 44
    assert failed["level"] == "ERROR"
    assert failed["exc"].rstrip().endswith("ZeroDivisionError: division by zero")
    for record in records.values():
        assert not {"event", "exception", "timestamp", "_record", "_from_structlog"} & set(record)
        assert "{" not in record["msg"]


def test_a_text_formatter_on_redishandler_is_refused_at_configuration(
    recipe: Configure,
) -> None:
    """The recipe's console formatter given to RedisHandler: dictConfig fails
    with a message that says what to do, before anything is logged."""
    console = {
        "()": structlog.stdlib.ProcessorFormatter,
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.dev.ConsoleRenderer(colors=False),
        ],
    }
    with pytest.raises(ValueError, match="Unable to configure handler 'redis'") as failure:
        recipe(console)
    cause = str(failure.value.__cause__)
    assert "renders text" in cause
    assert "JSON object" in cause


def test_a_plain_formatter_is_refused_too(redis_url: str, key: str) -> None:
    """A stdlib format string would turn the record's fields into a line."""
    handler = redislog.RedisHandler(url=redis_url, key=key)
    try:
        with pytest.raises(ValueError, match="renders text"):
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        assert type(handler.formatter) is RecordFormatter
    finally:
        handler.close()


def test_basicconfig_with_a_format_leaves_redishandler_its_own(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """``logging.basicConfig(format=..., handlers=[...])`` formats the console
    and leaves RedisHandler, which has a formatter of its own, alone."""
    result = run(
        """
        import logging, redislog
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s",
                            handlers=[logging.StreamHandler(), redislog.RedisHandler()])
        logging.getLogger("billing").info("charged %s", "o-42", extra={"order_id": 42})
        """,
        redis_url,
        key,
    )
    assert result.stderr == "INFO billing: charged o-42\n"
    [record] = stored(client, key)
    assert (record["msg"], record["order_id"]) == ("charged o-42", 42)


def test_the_readme_recipe_formats_arguments_and_a_console_handler_shows_key_values(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """``to_record`` last in the chain: positional arguments are formatted,
    key-values are fields in Redis, and a structlog console handler beside
    RedisHandler renders them as key=value."""
    console = io.StringIO()
    stream = logging.StreamHandler(console)
    stream.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.dev.ConsoleRenderer(colors=False),
            ],
            foreign_pre_chain=[structlog.stdlib.add_log_level, structlog.stdlib.ExtraAdder()],
        )
    )
    handler = redislog.RedisHandler(url=redis_url, key=key)
    root = logging.getLogger()
    root.addHandler(handler)
    root.addHandler(stream)
    root.setLevel(logging.INFO)
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, redislog.structlog.to_record],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
    )
    try:
        log = structlog.get_logger("billing")
        log.info("charged", order_id=42, amount=12.5)
        log.warning("card declined %s", "4242", order_id=43, name="clash")
        handler.flush()
    finally:
        structlog.reset_defaults()
        root.removeHandler(stream)
        root.removeHandler(handler)
        handler.close()
    records = stored(client, key)
    assert [r["msg"] for r in records] == ["charged", "card declined 4242"]
    assert (records[0]["order_id"], records[0]["amount"]) == (42, 12.5)
    assert (records[1]["order_id"], records[1]["name"]) == (43, "clash")
    shown = console.getvalue()
    assert "charged" in shown
    assert "order_id=42" in shown
    assert "amount=12.5" in shown
    assert "card declined 4242" in shown
    assert "redislog_fields" not in shown.split("card declined")[0]


def run(source: str, url: str, key: str) -> subprocess.CompletedProcess[str]:
    """Run *source* in a fresh interpreter, with REDISLOG_URL and REDISLOG_KEY set."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "REDISLOG_URL": url,
            "REDISLOG_KEY": key,
            "PYTHONPATH": str(Path(__file__).parent.parent),
        },
    )
    assert result.returncode == 0, result.stderr
    return result


def readme_snippets() -> list[str]:
    """The Python blocks of the README's structlog section."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("### structlog\n", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


@pytest.mark.parametrize("snippet", readme_snippets(), ids=["wrap_for_formatter", "to_record"])
def test_the_readme_snippets_run_as_written(
    redis_url: str, client: redis.Redis, key: str, snippet: str
) -> None:
    """Each structlog snippet of the README, run as it is, stores the event
    with its key-values as fields."""
    run(snippet, redis_url, key)
    [record] = stored(client, key)
    assert record["msg"] in ("charged", "card declined 4242")
    assert record["order_id"] == 42
    assert record["logger"] == "billing"

"""structlog integration: events through the stdlib into ``RedisHandler``.

Put ``to_record`` last in structlog's processor chain, with the stdlib logger
factory::

    import structlog
    import redislog.structlog

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            redislog.structlog.to_record,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
    )
    structlog.get_logger("billing").info("charged", order_id=42, amount=12.5)

The event becomes ``msg`` and every key-value a top-level field of the record.
The level, logger name and time come from the stdlib record, so structlog's own
``level``, ``logger`` and ``timestamp`` keys are dropped.
"""

from __future__ import annotations

from typing import Any

import structlog

from redislog.record import FIELDS_ATTR

_LOG_KWARGS = ("exc_info", "stack_info", "stacklevel")
# Set by structlog processors; the stdlib record already has these.
_DUPLICATES = ("level", "logger", "logger_name", "timestamp")


def to_record(_logger: Any, _method: str, event_dict: structlog.typing.EventDict) -> dict[str, Any]:
    """Turn an event dict into keyword arguments for a stdlib logging call.

    Fields travel in one record attribute, so keys like ``name`` or
    ``module`` (LogRecord attributes, which ``extra=`` refuses) work too.
    """
    event = dict(event_dict)
    kwargs: dict[str, Any] = {name: event.pop(name) for name in _LOG_KWARGS if name in event}
    message = event.pop("event", "")
    for name in _DUPLICATES:
        event.pop(name, None)
    # The message goes through %-formatting only when there are args; there
    # are none here, so a literal "%" in an event is safe.
    kwargs["msg"] = message if isinstance(message, str) else repr(message)
    kwargs["extra"] = {FIELDS_ATTR: event}
    return kwargs

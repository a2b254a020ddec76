"""structlog integration: events through the stdlib into ``RedisHandler``.

``RedisHandler`` stores structlog events sent through the stdlib either way
structlog documents it:

- structlog's own recipe (``ProcessorFormatter.wrap_for_formatter`` as the
  last processor, a ``ProcessorFormatter`` on the other handlers): the
  handler takes the event dict itself.  Give ``RedisHandler`` no formatter,
  or one whose last processor is ``JSONRenderer``.
- ``to_record`` as the last processor, with the stdlib logger factory, when
  no handler needs a ``ProcessorFormatter``::

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

Either way the event becomes ``msg`` and every key-value a top-level field of
the record.  The level, logger name and time come from the stdlib record, so
structlog's own ``level``, ``logger`` and ``timestamp`` keys are dropped.
"""

from __future__ import annotations

from typing import Any

import structlog

from redislog.record import EVENT_DUPLICATES, FIELDS_ATTR, STANDARD_ATTRS

_LOG_KWARGS = ("exc_info", "stack_info", "stacklevel")


def to_record(
    _logger: Any, _method: str, event_dict: structlog.typing.EventDict
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Turn an event dict into the arguments of a stdlib logging call.

    Positional arguments (``log.info("card declined %s", card)``) are left
    to the stdlib's %-formatting, as for any logging call.  Key-values
    travel as ``extra=`` attributes, so a structlog ``ProcessorFormatter``
    with ``ExtraAdder`` on another handler renders them as ``key=value``;
    keys the stdlib refuses there (``name``, ``module``...) travel in one
    attribute of their own.
    """
    event = dict(event_dict)
    kwargs: dict[str, Any] = {name: event.pop(name) for name in _LOG_KWARGS if name in event}
    message = event.pop("event", "")
    args = tuple(event.pop("positional_args", ()))
    for name in EVENT_DUPLICATES:
        event.pop(name, None)
    extra: dict[str, Any] = {}
    clashing: dict[str, Any] = {}
    for key, value in event.items():
        if key in STANDARD_ATTRS or key == FIELDS_ATTR:
            clashing[key] = value
        else:
            extra[key] = value
    if clashing:
        extra[FIELDS_ATTR] = clashing
    kwargs["extra"] = extra
    # Without arguments the stdlib never %-formats: a literal "%" is safe.
    text = message if isinstance(message, str) else repr(message)
    return (text, *args), kwargs

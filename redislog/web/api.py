"""The endpoints of ``redislog serve``.

Reading goes through the command line's own pieces: ``reader.describe_logs``
for the list of logs, ``reader.Search`` for records, ``stats`` for counts,
``reader.Tail`` (through ``follow``) for live records; query parameters are
the command line's filter options, parsed by ``filters.parse_query``.
Records are answered as stored: each list element that is one strict JSON
object is sent byte for byte; any other element as
``{"raw": text, "problem": why}``.

Writing goes through ``ingest`` and the writer's ``PUSH`` script, as
``redislog send`` and ``pipe`` do.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from redislog import (
    connection,
    filters,
    ingest,
    jsonlines,
    reader,
    record,
    scripts,
    serialize,
    tokens,
    writer,
)
from redislog import keys as keyspace
from redislog import stats as counting
from redislog.entry import Entry
from redislog.reader import logs as logs_of
from redislog.tokens import Token
from redislog.web.auth import HTTPError, allowed_key, authorize
from redislog.web.follow import event, record_json

#: Records one page holds at most, and by default.
PAGE_MAX = 10_000
PAGE = 100
#: Matching records searched (newest first) for the record a follower last saw.
RESUME_MAX = 100_000

_FILTERS = ("level", "logger", "grep", "exclude", "field", "since", "until", "case_sensitive")
_NDJSON = "application/x-ndjson"


def _service(request: Request) -> Any:
    from redislog.web.app import service_of

    return service_of(request)


def _params(request: Request, allowed: Iterable[str]) -> None:
    known = set(allowed)
    for name in request.query_params:
        if name not in known:
            raise HTTPError(
                400, f"unknown query parameter {name!r}: use {', '.join(sorted(known))}"
            )


def _query(request: Request, *, until: float | None = None) -> filters.Query:
    """The filter the query parameters spell (the command line's options)."""
    params = request.query_params
    sensitive = params.get("case_sensitive")
    if sensitive not in (None, "", "0", "1", "true", "false"):
        raise HTTPError(400, "bad case_sensitive: use true or false")
    given_until: str | float | None = params.get("until")
    if until is not None:
        if given_until is not None:
            bound = filters.parse_query(until=given_until).until
            until = until if bound is None else min(bound, until)
        given_until = until
    return filters.parse_query(
        level=params.get("level"),
        loggers=params.getlist("logger"),
        grep=params.get("grep"),
        fields=params.getlist("field"),
        since=params.get("since"),
        until=given_until,
        case_sensitive=True if sensitive in ("1", "true") else None,
        exclude=params.getlist("exclude"),
    )


def _count(request: Request, name: str, default: int, most: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text[:9]) <= most:
        raise HTTPError(400, f"bad {name} {text!r}: use a whole number from 1 to {most:,}")
    return int(text)


# -- which keys ----------------------------------------------------------------------


def _readable(service: Any, token: Token, key: str, *, missing_ok: bool = False) -> str:
    """*key*, which must exist (unless *missing_ok*) and be a log the token may
    read (else 403/404)."""
    allowed_key(token, key)
    client = service.client
    kind = logs_of.types(client, [key])[0]
    if kind == "none" and not missing_ok:
        if not client.sismember(keyspace.INDEX, keyspace.encoded(key)):
            raise HTTPError(404, f"no such log key {key!r}")
    elif kind not in ("list", "none"):
        raise HTTPError(409, f"{key!r} holds a Redis {kind}, not a log list")
    return key


def _chosen(service: Any, token: Token, patterns: list[str]) -> list[str]:
    """The log keys *patterns* (names or globs) name that the token may read."""
    members = [
        name
        for name in logs_of.indexed(service.client)
        if tokens.may_name(name) and token.may_read(name)
    ]
    chosen: list[str] = []
    for pattern in patterns:
        if logs_of.is_glob(pattern):
            found = logs_of.matching(members, [pattern])
            if not found:
                raise HTTPError(404, f"no log key this token may read matches {pattern!r}")
            chosen += found
        else:
            # Following a log that nothing wrote yet is fine: it starts when it does.
            chosen.append(_readable(service, token, pattern, missing_ok=True))
    kinds = logs_of.types(service.client, chosen)
    unique = dict.fromkeys(
        name for name, kind in zip(chosen, kinds, strict=True) if kind in ("list", "none")
    )
    if not unique:
        raise HTTPError(404, "none of those keys holds a log list")
    return list(unique)


# -- reading ---------------------------------------------------------------------------


async def healthz(request: Request) -> Response:
    service = _service(request)
    try:
        await run_in_threadpool(service.client.ping)
    except connection.ERRORS as exc:
        service.metrics.redis_failed()
        return JSONResponse({"redis": "down", "error": connection.describe(exc)}, status_code=503)
    return JSONResponse({"redis": "ok"})


async def metrics(request: Request) -> Response:
    service = _service(request)
    m = service.metrics
    lines = [
        "# HELP redislog_http_requests_total HTTP answers by route and status.",
        "# TYPE redislog_http_requests_total counter",
    ]
    for (route, status), value in sorted(m.requests.items()):
        route = route.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'redislog_http_requests_total{{route="{route}",status="{status}"}} {value}')
    lines += [
        "# HELP redislog_ingested_records_total Records stored through POST.",
        "# TYPE redislog_ingested_records_total counter",
        f"redislog_ingested_records_total {m.ingested}",
        "# HELP redislog_followers Event streams open now.",
        "# TYPE redislog_followers gauge",
        f"redislog_followers {service.hub.followers}",
        "# HELP redislog_feeds Live tails feeding them (one Redis inbox and connection each).",
        "# TYPE redislog_feeds gauge",
        f"redislog_feeds {len(service.hub.feeds)}",
        "# HELP redislog_redis_errors_total Redis failures met.",
        "# TYPE redislog_redis_errors_total counter",
        f"redislog_redis_errors_total {m.redis_errors}",
    ]
    return Response("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")


async def whoami(request: Request) -> Response:
    token = await authorize(request, "read")
    return JSONResponse(token.as_json())


async def list_logs(request: Request) -> Response:
    _params(request, ())
    token = await authorize(request, "read")
    service = _service(request)

    def work() -> list[dict[str, Any]]:
        names = [
            name
            for name in logs_of.indexed(service.client)
            if tokens.may_name(name) and token.may_read(name)
        ]
        if not names:
            return []
        infos = reader.describe_logs(service.client, names)
        try:
            from redislog import retention

            sizes = retention.memory(service.client, [i.key for i in infos if i.kind == "list"])
        except connection.ERRORS:
            sizes = {}
        return [
            {
                "key": info.key,
                "type": info.kind,
                "records": info.length,
                "cap": info.maxlen,
                "memory": sizes.get(info.key),
                "oldest": None if info.oldest is None else info.oldest.ts,
                "newest": None if info.newest is None else info.newest.ts,
                "tails": info.tails,
            }
            for info in infos
        ]

    return JSONResponse({"logs": await run_in_threadpool(work)})


def _cursor(entry: Entry) -> str:
    digest = hashlib.sha256(entry.raw).hexdigest()[:24]
    body = orjson.dumps({"ts": entry.ts, "h": digest})
    return base64.urlsafe_b64encode(body).decode().rstrip("=")


def _parse_cursor(text: str) -> tuple[float | None, str]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        ts, digest = data["ts"], data["h"]
        if (ts is not None and not isinstance(ts, (int, float))) or not isinstance(digest, str):
            raise ValueError
        return (None if ts is None else float(ts)), digest
    except (ValueError, KeyError, TypeError):
        raise HTTPError(400, "bad cursor: use the next value of the previous page") from None


async def records(request: Request) -> Response:
    _params(request, (*_FILTERS, "limit", "before"))
    token = await authorize(request, "read")
    service = _service(request)
    key = request.path_params["key"]
    limit = _count(request, "limit", PAGE, PAGE_MAX)
    before = request.query_params.get("before")
    cursor = None if before is None else _parse_cursor(before)
    query = _query(request, until=None if cursor is None else cursor[0])

    def work() -> tuple[list[Entry], str | None]:
        _readable(service, token, key)
        finder = reader.Search(
            service.client, [key], query=query, where=service.where, local=service.local
        )
        found: list[Entry] = []
        entries = finder.newest_first()
        if cursor is not None:
            ts, digest = cursor
            for entry in entries:
                if ts is not None and entry.ts is not None and entry.ts < ts:
                    found.append(entry)  # past every record of the cursor's time
                    break
                if hashlib.sha256(entry.raw).hexdigest()[:24] == digest:
                    break
        found.extend(itertools.islice(entries, limit + 1 - len(found)))
        more = len(found) > limit
        found = found[:limit]
        return found, _cursor(found[-1]) if more and found else None

    found, following = await run_in_threadpool(work)
    headers = {} if following is None else {"X-Next-Cursor": following}
    if _NDJSON in request.headers.get("accept", ""):
        body = b"".join(record_json(entry) + b"\n" for entry in found)
        return Response(body, media_type=_NDJSON, headers=headers)
    parts = b",".join(record_json(entry) for entry in found)
    head = b'{"key":' + orjson.dumps(key) + b',"next":' + orjson.dumps(following)
    return Response(
        head + b',"records":[' + parts + b"]}", media_type="application/json", headers=headers
    )


async def stats(request: Request) -> Response:
    _params(request, (*_FILTERS, "every", "top"))
    token = await authorize(request, "read")
    service = _service(request)
    key = request.path_params["key"]
    query = _query(request)
    top = _count(request, "top", 10, 1000)
    every = request.query_params.get("every")
    width = None
    if every is not None:
        now = time.time()
        try:
            seconds = now - filters.parse_time(every, now)
        except filters.FilterError:
            seconds = 0.0
        if not every.strip()[:1].isdigit() or not 1 <= seconds <= 1000 * 86400:
            raise HTTPError(400, f"bad every {every!r}: use a duration like 30s, 5m, 1h or 1d")
        width = int(seconds)

    def work() -> dict[str, Any]:
        _readable(service, token, key)
        now = time.time()
        finder = reader.Search(
            service.client, [key], query=query, where=service.where, local=service.local
        )
        if query.since is not None:
            span: float | None = (query.until if query.until is not None else now) - query.since
        else:
            span = counting.time_span(service.client, [key])
        counts = counting.Counts(query, counting.resolution_for(span))
        for name, raws in finder.windows():
            counts.add(name, raws)
        chosen = width
        if chosen is not None and chosen % counts.resolution:
            chosen = max(counts.resolution, chosen - chosen % counts.resolution)
        result = counting.summarize(
            counts, [key], scanned=finder.progress.scanned, now=now, width=chosen, top=top, utc=True
        )
        return counting.as_json(result)

    # As stats -o json writes it: undecodable bytes as U+FFFD.
    body = jsonlines.strict(await run_in_threadpool(work))
    return Response(body, media_type="application/json")


# -- following ---------------------------------------------------------------------------


def _notice(kind: str, **data: Any) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def follow_one(request: Request) -> Response:
    return await _follow(request, [request.path_params["key"]])


async def follow_many(request: Request) -> Response:
    patterns = request.query_params.getlist("key")
    if not patterns:
        raise HTTPError(
            400, "name the logs to follow: ?key=logs:web&key=logs:auth* (globs allowed)"
        )
    return await _follow(request, patterns)


async def _follow(request: Request, patterns: list[str]) -> Response:
    _params(request, (*_FILTERS, "key", "lines", "last_event_id"))
    token = await authorize(request, "read")
    service = _service(request)
    query = _query(request)
    lines = _count(request, "lines", 0, PAGE_MAX) if request.query_params.get("lines") != "0" else 0
    last = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    chosen = await run_in_threadpool(_chosen, service, token, patterns)
    signature = tuple(
        sorted((k, v) for k, v in request.query_params.multi_items() if k in _FILTERS)
    )
    feed, subscriber = await service.hub.subscribe(chosen, query, signature)

    def catch_up() -> tuple[list[Entry], bool]:
        """The records since *last* (or the newest *lines*), oldest first."""
        if last is None and not lines:
            return [], True
        finder = reader.Search(
            service.client, chosen, query=query, where=service.where, local=service.local
        )
        found: list[Entry] = []
        located = last is None
        for entry in itertools.islice(finder.newest_first(), lines if last is None else RESUME_MAX):
            if last is not None and entry.id == last:
                located = True
                break
            found.append(entry)
        if not located:
            found = []
        found.reverse()
        return found, located

    try:
        backlog, located = await run_in_threadpool(catch_up)
    except BaseException:
        service.hub.unsubscribe(feed, subscriber)
        raise

    async def stream() -> AsyncIterator[bytes]:
        sent = {entry.id for entry in backlog if entry.id is not None}
        backlog_events = [event(entry) for entry in backlog]
        try:
            yield b"retry: 1000\n\n"
            yield _notice("hello", keys=chosen)
            if not located:
                yield _notice(
                    "gap", reason="the last record seen is no longer stored; records may be missing"
                )
            if backlog_events:
                yield b"".join(backlog_events)
            while True:
                await subscriber.wait(service.settings.keepalive)
                batch, missed = subscriber.take()
                if missed:
                    yield _notice("missed", records=missed, reason="this client read too slowly")
                if batch:
                    chunk = []
                    for ident, encoded in batch:
                        if sent and ident in sent:
                            sent.discard(ident)
                            continue
                        chunk.append(encoded)
                    if chunk:
                        yield b"".join(chunk)
                elif subscriber.failed is not None:
                    yield _notice("error", error=subscriber.failed)
                    return
                elif subscriber.ended:
                    return  # the server is stopping: the client reconnects later
                else:
                    yield b": keep-alive\n\n"
        finally:
            service.hub.unsubscribe(feed, subscriber)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"X-Accel-Buffering": "no", "Cache-Control": "no-store"},
    )


# -- writing ---------------------------------------------------------------------------


def _items(body: bytes, ndjson: bool, most: int) -> list[bytes | dict[str, Any]]:
    """The records a body holds: JSON objects, or lines of text."""
    start = body.lstrip()[:1]
    if not ndjson and start == b"[":
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise HTTPError(400, f"the body is not valid JSON: {exc}") from None
        if not isinstance(value, list):
            raise HTTPError(400, "the body is not valid JSON")
        items: list[bytes | dict[str, Any]] = []
        for at, item in enumerate(value):
            if isinstance(item, dict):
                items.append(item)
            elif isinstance(item, str):
                items.append(item.encode())
            else:
                raise HTTPError(400, f"element {at} of the array is neither an object nor a string")
        return items
    if not ndjson and start == b"{":
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # NDJSON: one object a line
        else:
            if not isinstance(value, dict):
                raise HTTPError(400, "the body is not a JSON object")
            return [value]
    lines = body.split(b"\n")
    return [line for line in lines if line.strip()]


async def _body(request: Request, most: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > most:
        raise HTTPError(413, f"the body is {int(declared):,} bytes; at most {most:,}")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > most:
            raise HTTPError(413, f"the body is over {most:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def ingest_records(request: Request) -> Response:
    _params(request, ("level", "logger"))
    token = await authorize(request, "write")
    service = _service(request)
    key = allowed_key(token, request.path_params["key"])
    limits = service.settings.limits
    params = request.query_params
    level = ingest.parse_level(params.get("level", "info"))
    logger = params.get("logger") or token.name
    body = await _body(request, limits.body)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    items = _items(
        body, kind in (_NDJSON, "application/jsonl", "application/x-jsonlines"), limits.record
    )
    if not items:
        raise HTTPError(400, "no records in the body")
    for at, item in enumerate(items):
        size = len(item) if isinstance(item, bytes) else len(orjson.dumps(item))
        if size > limits.record:
            raise HTTPError(413, f"record {at} is {size:,} bytes; at most {limits.record:,}")
    if len(items) > limits.burst:
        raise HTTPError(413, f"{len(items):,} records in one request; at most {limits.burst:,}")
    wait = service.buckets.take(token.name, len(items))
    if wait:
        raise HTTPError(
            429,
            f"over {limits.rate:g} records per second for this token; retry later",
            {"Retry-After": service.buckets.retry_after(wait)},
        )

    def work() -> list[str]:
        cap = ingest.check_key(service.client, key) or writer.MAXLEN
        producer = record.Producer()
        lines = ingest.Lines(level, logger, producer, max_bytes=serialize.MAX_RECORD_BYTES)
        fields = dict(token.fields)
        data: list[bytes] = []
        for item in items:
            if isinstance(item, dict):
                data.append(lines.encode(orjson.dumps({**item, **fields})))
            elif fields and item.lstrip()[:1] != b"{":
                entry = record.external(
                    item.rstrip(b"\r").decode("utf-8", "backslashreplace"),
                    level[0], level[1], logger, producer.next_id(), fields=fields,
                )  # fmt: skip
                data.append(serialize.dumps(entry))
            elif fields:
                try:
                    value = orjson.loads(item)
                except orjson.JSONDecodeError:
                    value = None
                if isinstance(value, dict):
                    data.append(lines.encode(orjson.dumps({**value, **fields})))
                else:
                    data.append(lines.encode(item))
            else:
                data.append(lines.encode(item))
        problems: list[str] = []
        size = writer.BATCH_RECORDS
        try:
            for number, start in enumerate(range(0, len(data), size), 1):
                stored = scripts.store(
                    service.client, key, data[start : start + size], maxlen=cap,
                    token=producer.token, batch=number, index=number == 1,
                )  # fmt: skip
                problems += stored.problems
                if stored.unindexed is not None:
                    problems.append(stored.unindexed)
        except scripts.WrongType as exc:
            raise HTTPError(409, str(exc)) from None
        finally:
            try:
                service.client.delete(keyspace.seen(key, producer.token))
            except connection.ERRORS:
                pass
        return problems

    problems = await run_in_threadpool(work)
    service.metrics.ingested += len(items)
    return JSONResponse({"key": key, "stored": len(items), "warnings": problems}, status_code=201)


def routes() -> list[Route]:
    """Every route, in matching order."""
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/api/token", whoami, methods=["GET"]),
        Route("/api/logs", list_logs, methods=["GET"]),
        Route("/api/follow", follow_many, methods=["GET"]),
        Route("/api/logs/{key:path}/records", records, methods=["GET"]),
        Route("/api/logs/{key:path}/follow", follow_one, methods=["GET"]),
        Route("/api/logs/{key:path}/stats", stats, methods=["GET"]),
        Route("/api/logs/{key:path}", ingest_records, methods=["POST"]),
    ]

"""The OpenAI-compatible HTTP server: ``/v1/chat/completions``, ``/v1/models``, ``/health``, ``/metrics``.

Every error, from a body that is not JSON to a failing model, is an OpenAI-style JSON error
with a status code; no traceback ever reaches the client. Generation runs in worker threads
(one lock per model, see :mod:`dialogkit.serve.engine`), so ``/health`` and ``/metrics`` answer
while a model is busy. ``/health`` and ``/metrics`` need no API key (probes and scrapers);
``/v1/*`` does when the server has one.
"""

# No ``from __future__ import annotations``: FastAPI reads the route signatures at runtime, and
# ``Request`` is imported inside create_app (fastapi is an optional extra).
import contextlib
import hmac
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from dialogkit.errors import MissingDependencyError
from dialogkit.schema import dump
from dialogkit.serve.engine import Result, ServedModel
from dialogkit.serve.metrics import ServeMetrics
from dialogkit.serve.openai_io import (
    APIError,
    Limits,
    chunk,
    completion_body,
    new_id,
    parse_body,
    parse_reference,
    sse,
    to_chat_request,
    tool_call_deltas,
    usage_chunk,
)
from dialogkit.serve.shadow import Shadow
from dialogkit.serve.streaming import DeltaSplitter

log = logging.getLogger("dialogkit.serve")
_END = object()
DELTA_KEY = {"content": "content", "reasoning": "reasoning_content"}


class _Count:
    """ASGI middleware: count every HTTP request by route, model and status (streams included)."""

    def __init__(self, app: Any, metrics: ServeMetrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "other"
            model = scope.get("state", {}).get("model", "")
            self.metrics.observe(endpoint, model, status["code"])


class Server:
    """The served models and the settings every request shares."""

    def __init__(self, models: list[ServedModel], *, api_key: str | None = None, shadow: Shadow | None = None,
                 limits: Limits | None = None, metrics: ServeMetrics | None = None):
        self.models = {m.name: m for m in models}
        self.api_key = api_key
        self.shadow = shadow
        self.limits = limits or Limits()
        self.metrics = metrics or ServeMetrics()

    def check_key(self, authorization: str | None) -> None:
        if self.api_key is None:
            return
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), self.api_key.encode()):
            raise APIError(401, "Incorrect or missing API key: send 'Authorization: Bearer <key>'.",
                           code="invalid_api_key")

    def pick(self, name: str | None) -> ServedModel:
        if name is None:
            if len(self.models) == 1:
                return next(iter(self.models.values()))
            raise APIError(400, "model is required", param="model", code="model_required")
        if name not in self.models:
            raise APIError(400, f"The model '{name}' does not exist; this server has: {', '.join(self.models)}",
                           param="model", code="model_not_found")
        return self.models[name]

    def model_card(self, m: ServedModel) -> dict[str, Any]:
        return {"id": m.name, "object": "model", "created": m.created, "owned_by": "dialogkit", "root": m.source}


def create_app(server: Server) -> Any:
    """The FastAPI application for ``server``."""
    try:
        from fastapi import FastAPI, Request
        from fastapi.responses import JSONResponse
        from starlette.exceptions import HTTPException
    except ImportError:  # pragma: no cover - the serve extra is missing
        raise MissingDependencyError("fastapi", "serve") from None

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        if server.shadow is not None:
            server.shadow.close(wait=True)

    app = FastAPI(title="dialogkit", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.server = server
    app.add_middleware(_Count, metrics=server.metrics)

    @app.exception_handler(APIError)
    async def api_error(request: Request, exc: APIError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        err = APIError(exc.status_code, str(exc.detail), code="not_found" if exc.status_code == 404 else None)
        return JSONResponse(err.body(), status_code=exc.status_code)

    _add_probes(app, server)
    _add_v1(app, server)
    return app


def _add_probes(app: Any, server: Server) -> None:
    """``/health`` and ``/metrics``: async (answered on the event loop even while models are busy)."""
    from fastapi.responses import Response

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "models": list(server.models)}

    @app.get("/metrics")
    async def metrics() -> Response:
        body, ctype = server.metrics.render()
        return Response(body, media_type=ctype)


def _add_v1(app: Any, server: Server) -> None:
    """The OpenAI routes, behind the API key."""
    from fastapi import Request
    from fastapi.responses import StreamingResponse

    @app.get("/v1/models")
    async def list_models(request: Request) -> dict[str, Any]:
        server.check_key(request.headers.get("authorization"))
        return {"object": "list", "data": [server.model_card(m) for m in server.models.values()]}

    @app.get("/v1/models/{name:path}")
    async def get_model(name: str, request: Request) -> dict[str, Any]:
        server.check_key(request.headers.get("authorization"))
        if name not in server.models:
            raise APIError(404, f"The model '{name}' does not exist", param="model", code="model_not_found")
        return server.model_card(server.models[name])

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        server.check_key(request.headers.get("authorization"))
        req = parse_body(await request.body())
        model = server.pick(req.model)
        request.scope.setdefault("state", {})["model"] = model.name
        chat_req, config, stop = to_chat_request(req, server.limits)
        ctx = _Call(server, model, chat_req, config, stop, parse_reference(req.reference), req)
        if req.stream:
            return StreamingResponse(ctx.events(), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        return await ctx.answer()


class _Call:
    """One chat request being answered, streamed or whole."""

    def __init__(self, server: Server, model: ServedModel, chat_req: Any, config: Any, stop: list[str],
                 reference: Any, req: Any):
        self.server, self.model, self.chat_req, self.config, self.stop = server, model, chat_req, config, stop
        self.reference, self.req = reference, req
        self.rid = new_id()
        self.created = int(time.time())
        self.t0 = time.monotonic()
        self.final: Result | None = None

    async def _in_thread(self, fn: Any, *args: Any) -> Any:
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(fn, *args)

    def _done(self, result: Result) -> None:
        m = self.server.metrics
        seconds = time.monotonic() - self.t0
        m.latency.labels("/v1/chat/completions", self.model.name).observe(seconds)
        m.tokens(self.model.name, result.prompt_tokens, result.completion_tokens)
        if self.server.shadow is not None:
            record = {
                "id": self.rid, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "request": {"messages": [dump(x) for x in self.chat_req.messages],
                            "tools": [dump(t) for t in self.chat_req.tools]},
                "primary": {"model": self.model.name, "message": dump(result.choices[0].message),
                            "latency_s": round(seconds, 4)},
                "reference": dump(self.reference) if self.reference is not None else None,
            }
            self.server.shadow.submit(record, self.chat_req, self.config, self.stop,
                                      result.choices[0].message, self.reference)

    async def answer(self) -> dict[str, Any]:
        gauge = self.server.metrics.in_flight.labels(self.model.name)
        gauge.inc()
        try:
            result = await self._in_thread(self.model.complete, self.chat_req, self.config, self.stop)
        except Exception as e:  # noqa: BLE001 - a model failure is a 500 JSON error, never a traceback
            log.exception("generation failed")
            raise APIError(500, f"generation failed: {type(e).__name__}", type="server_error") from None
        finally:
            gauge.dec()
        self._done(result)
        return completion_body(self.rid, self.model.name, [(c.message, c.finish_reason) for c in result.choices],
                               result.prompt_tokens, result.completion_tokens)

    def _chunk(self, index: int, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse(chunk(self.rid, self.model.name, self.created, index, delta, finish))

    async def events(self) -> AsyncIterator[bytes]:
        """SSE in OpenAI's chunk format: role, content/reasoning deltas, tool calls, finish, [DONE]."""
        gauge = self.server.metrics.in_flight.labels(self.model.name)
        gauge.inc()
        cancel = threading.Event()
        stream = self.model.stream(self.chat_req, self.config, self.stop, cancel) if self.config.n == 1 else None
        try:
            if stream is not None:
                async for piece in self._single(stream):
                    yield piece
            else:
                result = await self._in_thread(self.model.complete, self.chat_req, self.config, self.stop)
                for i, choice in enumerate(result.choices):
                    yield self._chunk(i, {"role": "assistant", "content": ""})
                    for piece in self._tail(i, DeltaSplitter(self.stop), choice):
                        yield piece
                self._finish(result)
            if self.final is not None and (self.req.stream_options or {}).get("include_usage"):
                yield sse(usage_chunk(self.rid, self.model.name, self.created,
                                      self.final.prompt_tokens, self.final.completion_tokens))
            yield sse("[DONE]")
        except Exception as e:  # noqa: BLE001 - headers are sent: report in-band, OpenAI style
            log.exception("generation failed while streaming")
            yield sse(APIError(500, f"generation failed: {type(e).__name__}", type="server_error").body())
        finally:
            gauge.dec()
            cancel.set()
            if stream is not None:
                await self._in_thread(stream.close)

    def _finish(self, result: Result) -> None:
        self.final = result
        self._done(result)

    def _tail(self, index: int, splitter: DeltaSplitter, choice: Any) -> list[bytes]:
        out = [self._chunk(index, {DELTA_KEY[k]: t}) for k, t in splitter.finish(choice.message)]
        out += [self._chunk(index, d) for d in tool_call_deltas(choice.message)]
        out.append(self._chunk(index, {}, choice.finish_reason))
        return out

    async def _single(self, stream: Any) -> AsyncIterator[bytes]:
        splitter = DeltaSplitter(self.stop)
        yield self._chunk(0, {"role": "assistant", "content": ""})
        first = True
        while True:
            item = await self._in_thread(next, stream, _END)
            if item is _END:
                break
            if isinstance(item, Result):
                for piece in self._tail(0, splitter, item.choices[0]):
                    yield piece
                self._finish(item)
                continue
            for kind, text in splitter.feed(item):
                if first:
                    self.server.metrics.first_token.labels(self.model.name).observe(time.monotonic() - self.t0)
                    first = False
                yield self._chunk(0, {DELTA_KEY[kind]: text})

"""The local endpoint: SageMaker's hosting contract over ``http.server`` on loopback.

``GET /ping``; ``POST /invocations`` and ``POST /endpoints/<name>/invocations`` (the path
boto3's sagemaker-runtime client calls). Errors carry ``x-amzn-ErrorType`` and a JSON
``{"ErrorCode", "Message"}`` body, so botocore raises ``ValidationError`` / ``ModelError``.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from core.config import SERVING_KINDS
from lab.endpoint.async_queue import FAILURE_LOCATION, OUTPUT_LOCATION, AsyncQueue
from lab.endpoint.capture import CaptureWriter
from lab.endpoint.entry_point import EntryPointModel, load_container
from lab.endpoint.models import ArchiveError, LoadedModel, ModelCache, load_archive
from model_code.layout import VARIANT
from ops.payload import (
    InvocationError,
    format_predictions,
    model_failure,
    parse,
    response_type,
)

KINDS = SERVING_KINDS  # core/config.py ServingKind: the kinds are defined once
TARGET_MODEL = "X-Amzn-SageMaker-Target-Model"
TARGET_CONTAINER = "X-Amzn-SageMaker-Target-Container-Hostname"
INFERENCE_ID = "X-Amzn-SageMaker-Inference-Id"
MAX_BODY_BYTES = 6 * 1024 * 1024  # InvokeEndpoint's real-time payload limit
# Header limits from the sagemaker-runtime API model (botocore's service-2.json shapes
# TargetModelHeader, TargetContainerHostnameHeader, EndpointName, Header, InferenceId).
HEADER_LIMITS = {
    TARGET_MODEL: 1024,
    TARGET_CONTAINER: 63,
    "Content-Type": 1024,
    "Accept": 1024,
    INFERENCE_ID: 64,
}
MAX_ENDPOINT_NAME = 63
_ENDPOINT_PATH = re.compile(r"^/endpoints/([^/]+)/invocations$")
_ASYNC_PATH = re.compile(r"^/endpoints/([^/]+)/async-invocations$")


class EndpointSetupError(ValueError):
    """Settings the endpoint cannot start with (missing model, unknown kind)."""


@dataclass
class EndpointSettings:
    """What to serve. ``model`` for real_time/serverless, ``model_folder`` for multi_model,
    ``containers`` (hostname -> archive) for multi_container, with each container's
    registered environment in ``container_env`` (the framework entry point)."""

    kind: str
    endpoint_name: str = "lab-digits"
    variant: str = VARIANT
    model: Path | None = None
    model_folder: Path | None = None
    containers: dict[str, Path] = field(default_factory=dict)
    container_env: dict[str, dict[str, str]] = field(default_factory=dict)
    max_models: int | None = 8
    max_bytes: int | None = None
    capture_dir: Path | None = None
    capture_percent: int = 100
    # kind async: the local bucket folder (s3://<bucket>/<key> is <async_root>/<bucket>/<key>)
    async_root: Path | None = None
    async_max_concurrent: int = 1
    host: str = "127.0.0.1"
    port: int = 0


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def error_reply(err: InvocationError) -> Reply:
    return Reply(
        err.status,
        "application/json",
        json.dumps(err.body()).encode(),
        {"x-amzn-ErrorType": err.code},
    )


class LocalEndpoint:
    """Routes, validates and answers invocations; ``start()`` serves them over HTTP."""

    def __init__(self, settings: EndpointSettings) -> None:
        if settings.kind not in KINDS:
            raise EndpointSetupError(
                f"kind must be one of {', '.join(KINDS)}, got {settings.kind!r}"
            )
        self.settings = settings
        self.kind = settings.kind
        self.name = settings.endpoint_name
        self.model: LoadedModel | None = None
        self.containers: dict[str, LoadedModel | EntryPointModel] = {}
        self.cache: ModelCache | None = None
        self.invocations = 0
        self.errors = 0
        self._count_lock = threading.Lock()
        try:
            self._load(settings)
        except ArchiveError as err:
            raise EndpointSetupError(str(err)) from err
        self.capture: CaptureWriter | None = None
        if settings.capture_dir is not None:
            self.capture = CaptureWriter(
                settings.capture_dir, self.name, settings.variant, settings.capture_percent
            )
        self.async_queue: AsyncQueue | None = None
        if self.kind == "async":
            if settings.async_root is None:
                raise EndpointSetupError("an async endpoint needs a local bucket folder")
            self.async_queue = AsyncQueue(
                settings.async_root,
                self.name,
                self.invoke,
                max_concurrent=settings.async_max_concurrent,
            )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def _load(self, settings: EndpointSettings) -> None:
        # Like SageMaker, single-model and multi-container endpoints load before InService.
        if self.kind in ("real_time", "serverless", "async"):
            if settings.model is None:
                raise EndpointSetupError(f"a {self.kind} endpoint needs a model archive")
            self.model = load_archive(settings.model)
        elif self.kind == "multi_container":
            if not settings.containers:
                raise EndpointSetupError("a multi_container endpoint needs containers")
            self.containers = {
                host: load_container(path, settings.container_env.get(host, {}), host)
                for host, path in settings.containers.items()
            }
        else:
            if settings.model_folder is None or not settings.model_folder.is_dir():
                raise EndpointSetupError(
                    f"a multi_model endpoint needs a model folder, got {settings.model_folder}"
                )
            self.cache = ModelCache(settings.model_folder, settings.max_models, settings.max_bytes)

    # --- routing -------------------------------------------------------------------------

    def _route(
        self, target_model: str | None, target_container: str | None
    ) -> LoadedModel | EntryPointModel:
        if target_model is not None and self.kind != "multi_model":
            raise InvocationError(
                400,
                "ValidationError",
                f"Endpoint {self.name} is not a multi-model endpoint "
                "and does not support target model header.",
                "TARGET_MODEL_HEADER_NOT_SUPPORTED",
            )
        if target_container is not None and self.kind != "multi_container":
            raise InvocationError(
                400,
                "ValidationError",
                f"Endpoint {self.name} is not a multi-container endpoint "
                "and does not support target container hostname header.",
                "TARGET_CONTAINER_HOSTNAME_HEADER_NOT_SUPPORTED",
            )
        if self.kind == "multi_model":
            assert self.cache is not None
            if not target_model:
                raise InvocationError(
                    400,
                    "ValidationError",
                    f"Endpoint {self.name} is a multi-model endpoint: "
                    f"the request is missing a target model header ({TARGET_MODEL}).",
                    "MISSING_TARGET_MODEL_HEADER",
                )
            return self.cache.get(target_model)[0]
        if self.kind == "multi_container":
            if not target_container:
                raise InvocationError(
                    400,
                    "ValidationError",
                    f"Endpoint {self.name} is a multi-container endpoint "
                    f"invoked directly: the request is missing a {TARGET_CONTAINER} header "
                    f"(one of {', '.join(sorted(self.containers))}).",
                    "MISSING_TARGET_CONTAINER_HOSTNAME_HEADER",
                )
            model = self.containers.get(target_container)
            if model is None:
                raise InvocationError(
                    404,
                    "ValidationError",
                    f"Container hostname {target_container} not found "
                    f"in endpoint {self.name} (containers: "
                    f"{', '.join(sorted(self.containers))}).",
                    "CONTAINER_NOT_FOUND",
                )
            return model
        assert self.model is not None
        return self.model

    def invoke(
        self,
        headers: Mapping[str, str] | Message[str, str],
        body: bytes,
        endpoint: str | None = None,
    ) -> Reply:
        """Answer one invocation; every refusal is a Reply, never an exception."""
        try:
            if endpoint is not None and endpoint != self.name:
                raise InvocationError(
                    404,
                    "ValidationError",
                    f"Endpoint {endpoint} not found: this local endpoint is {self.name}.",
                    "ENDPOINT_NOT_FOUND",
                )
            if endpoint is not None and self.kind == "async":
                raise InvocationError(
                    400,
                    "ValidationError",
                    f"Endpoint {self.name} is an asynchronous endpoint: it only receives "
                    "asynchronous invocations (InvokeEndpointAsync).",
                    "ASYNC_ENDPOINT",
                )
            if endpoint is not None and len(endpoint) > MAX_ENDPOINT_NAME:
                raise InvocationError(
                    400,
                    "ValidationError",
                    f"Endpoint name of {len(endpoint)} characters: at most {MAX_ENDPOINT_NAME}.",
                    "INVALID_ENDPOINT_NAME",
                )
            for header, limit in HEADER_LIMITS.items():
                value = headers.get(header)
                if value is not None and len(value) > limit:
                    raise InvocationError(
                        400,
                        "ValidationError",
                        f"Header {header} is {len(value)} characters long: at most {limit}.",
                        "HEADER_TOO_LONG",
                    )
            if len(body) > MAX_BODY_BYTES:
                raise InvocationError(
                    413,
                    "ValidationError",
                    f"Body of {len(body)} bytes exceeds the {MAX_BODY_BYTES}-byte limit.",
                    "PAYLOAD_TOO_LARGE",
                )
            content_type = headers.get("Content-Type")
            model = self._route(headers.get(TARGET_MODEL), headers.get(TARGET_CONTAINER))
            if isinstance(model, EntryPointModel):
                data, out_type = model.handle(body, content_type, headers.get("Accept"))
            else:
                out_type = response_type(headers.get("Accept"), content_type)
                rows = parse(content_type, body)
                try:
                    predictions = model.predict(rows)
                except Exception as err:  # a model failure must not take the server down
                    raise model_failure(f"{type(err).__name__}: {err}") from err
                data = format_predictions(predictions, out_type)
        except InvocationError as err:
            with self._count_lock:
                self.errors += 1
            return error_reply(err)
        with self._count_lock:
            self.invocations += 1
        if self.capture is not None:
            self.capture.capture(content_type, body, out_type, data, headers.get(INFERENCE_ID))
        return Reply(
            200, out_type, data, {"x-Amzn-Invoked-Production-Variant": self.settings.variant}
        )

    def invoke_async(self, headers: Mapping[str, str] | Message[str, str], endpoint: str) -> Reply:
        """Queue one async invocation (``async_queue``); 202 with where the answer goes."""
        try:
            if endpoint != self.name:
                raise InvocationError(
                    404,
                    "ValidationError",
                    f"Endpoint {endpoint} not found: this local endpoint is {self.name}.",
                    "ENDPOINT_NOT_FOUND",
                )
            if self.async_queue is None:
                raise InvocationError(
                    400,
                    "ValidationError",
                    f"Endpoint {self.name} is not an asynchronous endpoint (kind {self.kind}).",
                    "NOT_ASYNC_ENDPOINT",
                )
            request, _ = self.async_queue.submit(headers)
        except InvocationError as err:
            with self._count_lock:
                self.errors += 1
            return error_reply(err)
        return Reply(
            202,
            "application/json",
            json.dumps({"InferenceId": request.inference_id}).encode(),
            {
                OUTPUT_LOCATION: self.async_queue.output_location(request),
                FAILURE_LOCATION: self.async_queue.failure_location(request),
            },
        )

    def count_error(self) -> None:
        with self._count_lock:
            self.errors += 1

    # --- HTTP ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("endpoint not started")
        return f"http://{self.settings.host}:{self._server.server_port}"

    def bind(self) -> _Server:
        if self._server is None:
            server = _Server((self.settings.host, self.settings.port), _Handler)
            server.endpoint = self
            self._server = server
        return self._server

    def start(self) -> LocalEndpoint:
        """Serve in a background thread (tests, the lab stage); returns self."""
        server = self.bind()
        self._thread = threading.Thread(
            target=server.serve_forever,
            name="local-endpoint",
            kwargs={"poll_interval": 0.1},
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.bind().serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stopping = True
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join(timeout=5)
            self._server.server_close()
            self._server = None
            self._thread = None
        if self.async_queue is not None:
            self.async_queue.close()
        if self.capture is not None:
            self.capture.close()
        for model in self.containers.values():
            if isinstance(model, EntryPointModel):
                model.close()

    def __enter__(self) -> LocalEndpoint:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def describe(self) -> str:
        if self.kind == "async":
            assert self.model is not None and self.async_queue is not None
            return (
                f"model: {self.model.framework} from {self.settings.model}; async requests "
                f"from and answers to {self.async_queue.root}"
            )
        if self.kind == "multi_model":
            assert self.cache is not None
            models = ", ".join(self.cache.available()) or "none"
            limits = f"max {self.settings.max_models} models" if self.settings.max_models else ""
            if self.settings.max_bytes:
                limits += f"{', ' if limits else ''}max {self.settings.max_bytes} bytes"
            return f"target models ({limits or 'no cache limit'}): {models}"
        if self.kind == "multi_container":
            return "containers: " + ", ".join(
                f"{host} ({m.framework}, {self.settings.containers[host].name})"
                for host, m in self.containers.items()
            )
        assert self.model is not None
        return f"model: {self.model.framework} from {self.settings.model}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    endpoint: LocalEndpoint
    stopping = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-reply is its own business; anything else is one line,
        # never a traceback on the server's terminal (the request already got its answer).
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError)):
            print(
                f"local endpoint: request from {client_address[0]} failed: "
                f"{type(error).__name__}: {error}",
                file=sys.stderr,
            )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3 and load balancers use
    # Headers and body go out in one write below; no Nagle delay on the reply either.
    disable_nagle_algorithm = True
    server_version = "labctl-local-endpoint"
    server: _Server

    def _send(self, reply: Reply) -> None:
        request_id = str(uuid.uuid4())
        phrase = self.responses.get(reply.status, ("",))[0]
        lines = [
            f"{self.protocol_version} {reply.status} {phrase}",
            f"Content-Type: {reply.content_type}",
            f"Content-Length: {len(reply.body)}",
            f"x-amzn-RequestId: {request_id}",
        ]
        lines += [f"{k}: {v}" for k, v in reply.headers.items()]
        if self.server.stopping:
            self.close_connection = True
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + reply.body)
        self.log_request(reply.status, len(reply.body))

    def _refuse(self, status: int, code: str, message: str) -> None:
        self._send(error_reply(InvocationError(status, code, message)))
        if self.close_connection:
            self._linger()

    def _linger(self) -> None:
        """Closing with unread request bytes makes the kernel reset the connection, which
        can destroy the reply before the client reads it. So: end our side, then read and
        discard (never keep) what the client still sends, for at most 1 s and 1 MiB."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(1.0)
            budget = 1 << 20
            while budget > 0 and (chunk := self.connection.recv(min(budget, 65536))):
                budget -= len(chunk)
        except OSError:
            pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a garbled request line, headers too long or too
        many), SageMaker-shaped like every other error instead of an HTML page."""
        self.close_connection = True
        if not hasattr(self, "request_version"):
            self.request_version = "HTTP/1.1"
        self._refuse(code, "ValidationError", message or self.responses.get(code, ("",))[0])

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.split("?", 1)[0] == "/ping":
            self._send(Reply(200, "text/plain", b""))
        else:
            self._refuse(404, "UnknownOperationException", f"no route for GET {self.path}")

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        async_match = _ASYNC_PATH.match(path)
        if async_match is not None and "Content-Length" not in self.headers:
            # InvokeEndpointAsync carries its payload in S3: the request may have no body.
            self._send(self.server.endpoint.invoke_async(self.headers, unquote(async_match[1])))
            return
        match = _ENDPOINT_PATH.match(path)
        if path != "/invocations" and match is None and async_match is None:
            self._refuse(404, "UnknownOperationException", f"no route for POST {self.path}")
            return
        length = self.headers.get("Content-Length")
        if length is None:
            self.close_connection = True  # the body's end is unknown: the stream is unusable
            self._refuse(411, "ValidationError", "Content-Length header is required")
            return
        try:
            size = int(length)
            if size < 0:
                raise ValueError(length)
        except ValueError:
            self.close_connection = True
            self._refuse(400, "ValidationError", f"bad Content-Length {length[:40]!r}")
            return
        if size > MAX_BODY_BYTES:
            # Refused unread: the body would be read into memory only to be refused. The
            # rest of the stream is that body, so this connection closes after the reply.
            self.close_connection = True
            self.server.endpoint.count_error()
            self._refuse(
                413,
                "ValidationError",
                f"Content-Length {size} exceeds the {MAX_BODY_BYTES}-byte payload limit.",
            )
            return
        body = self.rfile.read(size) if size > 0 else b""
        if len(body) < size:  # the client stopped sending early
            self.close_connection = True
            self.server.endpoint.count_error()
            self._refuse(400, "ValidationError", f"body ended after {len(body)} of {size} bytes")
            return
        if async_match is not None:
            self._send(self.server.endpoint.invoke_async(self.headers, unquote(async_match[1])))
            return
        endpoint = unquote(match.group(1)) if match else None
        try:
            reply = self.server.endpoint.invoke(self.headers, body, endpoint)
        except Exception as err:  # the last guard: one bad request never stops the server
            self.server.endpoint.count_error()
            reply = error_reply(
                InvocationError(500, "InternalFailure", f"{type(err).__name__}: {err}"[:500])
            )
        self._send(reply)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # per-request lines would dominate the latency budget and the terminal

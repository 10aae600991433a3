"""The asynchronous-inference contract of the local endpoint (kind ``async``).

``POST /endpoints/<name>/async-invocations`` (what boto3's ``invoke_endpoint_async`` calls)
with ``X-Amzn-SageMaker-InputLocation: s3://<bucket>/<key>`` queues the request and answers
202 with ``InferenceId`` and the ``X-Amzn-SageMaker-OutputLocation`` / ``-FailureLocation``
headers. Workers (``max_concurrent``, as MaxConcurrentInvocationsPerInstance) read the payload
from the local bucket folder (``s3://b/k`` is ``<root>/b/k``), answer it through the real-time
path of the same endpoint, and write ``<id>.out`` under the output prefix or
``<id>-error.out`` under the failure prefix (the prefixes of ``core.async_contract``).
A repeated InferenceId returns the first request's locations and is not queued again.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

from core.async_contract import FAILURE_PREFIX, OUTPUT_PREFIX, endpoint_prefix
from ops.payload import InvocationError

INPUT_LOCATION = "X-Amzn-SageMaker-InputLocation"
ASYNC_CONTENT_TYPE = "X-Amzn-SageMaker-Content-Type"
ASYNC_ACCEPT = "X-Amzn-SageMaker-Accept"
INFERENCE_ID = "X-Amzn-SageMaker-Inference-Id"
OUTPUT_LOCATION = "X-Amzn-SageMaker-OutputLocation"
FAILURE_LOCATION = "X-Amzn-SageMaker-FailureLocation"
# botocore's InvokeEndpointAsync shapes: InputLocation ^(https|s3)://([^/]+)/?(.*)$, <= 1024.
_LOCATION = re.compile(r"^s3://([^/]+)/(.+)$")
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass
class AsyncRequest:
    inference_id: str
    name: str  # the object name SageMaker would choose (a fresh UUID)
    input_location: str
    content_type: str | None
    accept: str | None


class AsyncQueue:
    """Queue + workers; ``answer(headers, body)`` is the endpoint's real-time path."""

    def __init__(
        self,
        root: Path,
        endpoint_name: str,
        answer: Callable[[Mapping[str, str], bytes], Any],
        *,
        bucket: str = "lab-local",
        max_concurrent: int = 1,
    ) -> None:
        self.root = root
        self.endpoint_name = endpoint_name
        self.answer = answer
        self.bucket = bucket
        self.requests: dict[str, AsyncRequest] = {}
        self.done = 0
        self.failed = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._queue: queue.Queue[AsyncRequest | None] = queue.Queue()
        self._workers = [
            threading.Thread(target=self._work, name=f"async-{i}", daemon=True)
            for i in range(max_concurrent)
        ]
        for worker in self._workers:
            worker.start()

    def location(self, prefix: str, leaf: str) -> str:
        return f"s3://{self.bucket}/{endpoint_prefix(prefix, self.endpoint_name)}/{leaf}"

    def output_location(self, request: AsyncRequest) -> str:
        return self.location(OUTPUT_PREFIX, f"{request.name}.out")

    def failure_location(self, request: AsyncRequest) -> str:
        return self.location(FAILURE_PREFIX, f"{request.name}-error.out")

    def path(self, uri: str) -> Path:
        match = _LOCATION.match(uri)
        if match is None:
            raise ValueError(uri)
        bucket, key = match.groups()
        path = (self.root / bucket / key).resolve()
        if not path.is_relative_to(self.root.resolve()) or ".." in Path(key).parts:
            raise ValueError(uri)
        return path

    def submit(self, headers: Mapping[str, str] | Message[str, str]) -> tuple[AsyncRequest, bool]:
        """Queue one request; (request, queued) with queued False for a repeated id."""
        location = headers.get(INPUT_LOCATION)
        if not location:
            raise InvocationError(
                400,
                "ValidationError",
                f"An async invocation needs the {INPUT_LOCATION} header (the payload in S3).",
                "MISSING_INPUT_LOCATION",
            )
        try:
            self.path(location)
        except ValueError:
            raise InvocationError(
                400,
                "ValidationError",
                f"Input location {location[:200]!r} is not s3://<bucket>/<key> of the local "
                f"bucket folder {self.root}.",
                "INVALID_INPUT_LOCATION",
            ) from None
        inference_id = headers.get(INFERENCE_ID) or str(uuid.uuid4())
        with self._lock:
            known = self.requests.get(inference_id)
            if known is not None:
                return known, False
            request = AsyncRequest(
                inference_id,
                str(uuid.uuid4()),
                location,
                headers.get(ASYNC_CONTENT_TYPE),
                headers.get(ASYNC_ACCEPT),
            )
            self.requests[inference_id] = request
            self._pending += 1
        self._queue.put(request)
        return request, True

    def _work(self) -> None:
        while True:
            request = self._queue.get()
            if request is None:
                return
            try:
                self._process(request)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _process(self, request: AsyncRequest) -> None:
        try:
            body = self.path(request.input_location).read_bytes()
        except OSError as err:
            # The service counts these as RequestDownloadFailures and writes the failure.
            self._fail(request, "RequestDownloadFailure", f"cannot read the input: {err}")
            return
        headers = {}
        if request.content_type:
            headers["Content-Type"] = request.content_type
        if request.accept:
            headers["Accept"] = request.accept
        headers[INFERENCE_ID] = request.inference_id
        reply = self.answer(headers, body)
        if reply.status != 200:
            try:
                detail = json.loads(reply.body)
                code, message = detail.get("ErrorCode", "Error"), detail.get("Message", "")
            except ValueError:
                code, message = "Error", reply.body.decode(errors="replace")
            self._fail(request, code, message)
            return
        self._write(self.output_location(request), reply.body)
        with self._lock:
            self.done += 1

    def _fail(self, request: AsyncRequest, code: str, message: str) -> None:
        text = json.dumps(
            {"ErrorCode": code, "Message": message, "InferenceId": request.inference_id}
        )
        self._write(self.failure_location(request), text.encode())
        with self._lock:
            self.failed += 1

    def _write(self, uri: str, data: bytes) -> None:
        path = self.path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        partial.replace(path)  # a poller never reads half an answer

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every queued request is answered (tests, the lab); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def close(self) -> None:
        for _ in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join(timeout=5)

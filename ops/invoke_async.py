"""``labctl invoke --async``: upload the payload, InvokeEndpointAsync, poll for the answer.

One request = one InferenceId (a new UUID), used as the payload's object name and sent as the
request's InferenceId. The invocation is attempted once: a retry after a lost response could
queue the same payload twice and answer it twice, so an ambiguous failure is reported with the
payload location and id instead. The poll reads exactly the OutputLocation (or
FailureLocation) the service returned, so one request gets one answer.

``s3`` is a boto3 S3 client, or ``LocalBucket`` for the local endpoint: the same three calls
(``head_bucket``, ``head_object``, ``put_object``/``get_object``) on a folder under ``.lab``.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.errors import OperationFailed, UsageError

POLL_SECONDS = 2.0


def split_s3(uri: str, what: str = "--input-location") -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise UsageError(f"{what} must be an s3:// URI, got {uri!r}")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise UsageError(f"{what} {uri!r} names no bucket")
    return bucket, key


class _NotFound(Exception):
    pass


def _code(err: Exception) -> str:
    response = getattr(err, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _missing(err: Exception) -> bool:
    return isinstance(err, _NotFound) or _code(err) in ("404", "NoSuchKey", "NoSuchBucket")


def _denied(err: Exception) -> bool:
    return _code(err) in ("403", "AccessDenied", "AccessDeniedException")


@dataclass
class LocalBucket:
    """The local lab's stand-in for S3: ``s3://<bucket>/<key>`` is ``<root>/<bucket>/<key>``.
    The local endpoint reads and writes the same folder (``LocalEndpoint`` async_root)."""

    root: Path

    def path(self, bucket: str, key: str) -> Path:
        return self.root / bucket / key

    def head_bucket(self, Bucket: str) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        if not (self.root / Bucket).is_dir():
            raise _NotFound(Bucket)
        return {}

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
        path = self.path(Bucket, Key)
        if not path.is_file():
            raise _NotFound(Key)
        return {"ContentLength": path.stat().st_size}

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict[str, Any]:  # noqa: N803
        path = self.path(Bucket, Key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(Body)
        return {}

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
        import io

        path = self.path(Bucket, Key)
        if not path.is_file():
            raise _NotFound(Key)
        return {"Body": io.BytesIO(path.read_bytes())}


@dataclass
class AsyncAnswer:
    inference_id: str
    input_location: str
    output_location: str
    body: bytes
    seconds: float


def upload(s3: Any, input_location: str, body: bytes, inference_id: str, suffix: str) -> str:
    """Put the payload under ``input_location`` (a prefix ending in /) as ``<id><suffix>``,
    or check that ``input_location`` (an object) exists. Returns the object's URI."""
    bucket, key = split_s3(input_location)
    if not key or key.endswith("/"):
        try:
            s3.head_bucket(Bucket=bucket)
        except Exception as err:
            if _missing(err):
                raise UsageError(
                    f"--input-location {input_location}: bucket {bucket} does not exist"
                ) from err
            if _denied(err):
                raise OperationFailed(
                    f"--input-location {input_location}: no permission on bucket {bucket}"
                ) from err
            raise OperationFailed(f"--input-location {input_location}: {err}") from err
        key = f"{key}{inference_id}{suffix}"
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=body)
        except Exception as err:
            why = "no permission to upload there" if _denied(err) else str(err)
            raise OperationFailed(
                f"cannot upload the payload to s3://{bucket}/{key}: {why}"
            ) from err
        return f"s3://{bucket}/{key}"
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except Exception as err:
        if _missing(err):
            raise UsageError(
                f"--input-location {input_location} does not exist: upload the payload first, "
                "or give a prefix ending in / to let labctl upload it"
            ) from err
        why = "no permission to read it" if _denied(err) else str(err)
        raise OperationFailed(f"--input-location {input_location}: {why}") from err
    return input_location


def _read(s3: Any, uri: str) -> bytes | None:
    """The object's bytes, None while it does not exist; no permission is an error."""
    bucket, key = split_s3(uri, "location")
    try:
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except Exception as err:
        if _missing(err):
            return None
        if _denied(err):
            raise OperationFailed(
                f"no permission to read {uri}: the caller needs s3:GetObject (and kms:Decrypt "
                "on the lake key) on the endpoint's output prefix; the request was processed "
                "or is queued, nothing is re-sent"
            ) from err
        raise OperationFailed(f"cannot read {uri}: {err}") from err


def invoke_async(
    runtime: Any,
    s3: Any,
    endpoint: str,
    body: bytes,
    *,
    input_location: str,
    content_type: str,
    accept: str,
    timeout_seconds: float,
    poll_seconds: float = POLL_SECONDS,
    inference_id: str | None = None,
    progress: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> AsyncAnswer:
    """Upload, invoke once, poll until the answer or the failure appears, or time out."""
    say = progress or (lambda line: print(line, file=sys.stderr))
    inference_id = inference_id or str(uuid.uuid4())
    suffix = ".json" if content_type == "application/json" else ".csv"
    location = upload(s3, input_location, body, inference_id, suffix)
    start = clock()
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = runtime.invoke_endpoint_async(
            EndpointName=endpoint,
            InputLocation=location,
            ContentType=content_type,
            Accept=accept,
            InferenceId=inference_id,
            InvocationTimeoutSeconds=max(1, min(3600, int(timeout_seconds))),
        )
    except ClientError as err:
        error = err.response.get("Error", {})
        raise OperationFailed(
            f"{endpoint}: {error.get('Code')}: {error.get('Message')} (nothing was queued; "
            f"the payload stays at {location})"
        ) from err
    except BotoCoreError as err:
        raise OperationFailed(
            f"{endpoint}: {err}. The request may or may not be queued: it is InferenceId "
            f"{inference_id}, payload {location}; check the endpoint's output prefix before "
            "sending it again"
        ) from err
    output = response["OutputLocation"]
    failure = response.get("FailureLocation")
    say(f"queued {response.get('InferenceId', inference_id)}: waiting for {output}")
    while True:
        answer = _read(s3, output)
        if answer is not None:
            return AsyncAnswer(inference_id, location, output, answer, clock() - start)
        if failure:
            error = _read(s3, failure)
            if error is not None:
                raise OperationFailed(
                    f"{endpoint} could not answer request {inference_id}: "
                    f"{error.decode(errors='replace').strip()[:500]} (from {failure})"
                )
        elapsed = clock() - start
        if elapsed >= timeout_seconds:
            raise OperationFailed(
                f"no answer from {endpoint} after {elapsed:.0f} s (--timeout {timeout_seconds:g}): "
                f"request {inference_id} is still queued or running; its answer will appear at "
                f"{output} (failures at {failure}); nothing is re-sent"
            )
        say(f"  {elapsed:.0f} s: no answer yet")
        sleep(poll_seconds)


LOCAL_BUCKET = "lab-local"  # the local lab's bucket name under <workdir>/bucket/


def local_bucket_root(workdir: Path) -> Path:
    return workdir / "bucket"

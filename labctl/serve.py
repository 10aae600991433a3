"""labctl serve --local: the trained models behind a local SageMaker-style endpoint.

Serves the kind the profile deploys (or ``--kind``) from the lab's local registry on
127.0.0.1 until Ctrl-C: the newest Approved version of each group it needs (pending ones
only with ``--allow-pending``, rejected ones never). The endpoint's plan and the lab stage
are lab/serve.py.
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from lab.endpoint import KINDS, LocalEndpoint
from lab.serve import banner, build_endpoint, plan_from_profile
from labctl.options import add_examples, add_profile, add_workdir
from ops.errors import OperationFailed, UsageError

CLOUD_MESSAGE = (
    "serving in the cloud is deployed by CDK; use --local, or labctl invoke "
    "against a deployed endpoint"
)


def run(args: argparse.Namespace) -> int:
    if not args.local:
        raise UsageError(CLOUD_MESSAGE)
    plan = plan_from_profile(args.profile, args.kind, args.capture)
    workdir = Path(args.workdir)
    endpoint = build_endpoint(
        workdir, plan, args.port, args.max_models, args.max_model_bytes, args.allow_pending
    )
    if args.shadow_version is not None:  # the registry's version N as a shadow variant
        from lab.endpoint.shadow import local_shadow_endpoint

        endpoint = local_shadow_endpoint(
            workdir, endpoint.settings, args.shadow_version, args.shadow_percent
        )
    try:
        endpoint.bind()
    except OSError as err:
        raise OperationFailed(f"cannot listen on 127.0.0.1:{args.port}: {err}") from err
    capture = (
        f"capture {plan.capture_percent}% to {workdir / 'capture' / plan.endpoint_name}"
        if plan.capture
        else "capture off"
    )
    print(f"endpoint {plan.endpoint_name} ({plan.kind}) at {endpoint.url}")
    print(f"  serving {banner(plan.registry(workdir), plan.kind, args.allow_pending)}")
    print(f"  {endpoint.describe()}")
    print(f"  {capture}; Ctrl-C stops")
    print(
        f"  try: labctl invoke --endpoint {plan.endpoint_name} --local-url {endpoint.url} "
        f"--digits 3{_example_target(endpoint)}",
        flush=True,
    )
    # SIGTERM (a process manager, `kill`) stops as cleanly as Ctrl-C: capture files close.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        endpoint.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        endpoint.stop()
    print(f"stopped after {endpoint.invocations} invocations ({endpoint.errors} refused)")
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _example_target(endpoint: LocalEndpoint) -> str:
    if endpoint.kind == "multi_model" and endpoint.cache is not None:
        names = endpoint.cache.available()
        return f" --target-model {names[-1]}" if names else ""
    if endpoint.kind == "multi_container":
        return " --target-container xgboost"
    return ""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("serve", help="serve the approved models on a local endpoint")
    parser.add_argument(
        "--local", action="store_true", help="serve on 127.0.0.1 from the lab's local registry"
    )
    add_profile(parser, "whose serving settings apply")
    add_workdir(parser)
    parser.add_argument("--kind", choices=KINDS, help="override the profile's serving.kind")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--allow-pending",
        action="store_true",
        help="serve the newest pending version of a group that has no Approved one "
        "(never a rejected one)",
    )
    parser.add_argument(
        "--capture",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="data capture to <workdir>/capture (default: the profile's)",
    )
    parser.add_argument(
        "--max-models",
        type=int,
        default=8,
        help="multi-model: models kept loaded (least recently used go first)",
    )
    parser.add_argument(
        "--max-model-bytes",
        type=int,
        help="multi-model: byte budget for loaded models (artifact sizes)",
    )
    parser.add_argument(
        "--shadow-version",
        type=int,
        help="real_time: also run this XGBoost version as a shadow variant (labctl shadow report)",
    )
    parser.add_argument(
        "--shadow-percent", type=int, default=100, help="share of requests the shadow gets"
    )
    add_examples(
        parser,
        "labctl serve --local",
        "labctl serve --local --kind multi_model --port 8080",
        "labctl serve --local --shadow-version 2  # then: labctl shadow report --local",
    )
    parser.set_defaults(handler=run)

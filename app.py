#!/usr/bin/env python3
"""Composition root: the only place that reads context and the environment.

python app.py                      # profile 'lab'
cdk synth -c profile=prod-like -c account=123456789012 -c region=eu-west-1
"""

from __future__ import annotations

import os
import sys

# jsii prints a Node-20 end-of-life banner on every run; the CLI needs no telemetry offline.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk  # noqa: E402  (after the environment it reads)

from core.config import ConfigError, load_profile  # noqa: E402
from core.release import choose_release  # noqa: E402
from infra.platform import cdk_json_context, check_deployed_budget, new_app  # noqa: E402


def main() -> None:
    probe = cdk.App()  # reads -c values the CDK CLI passes in CDK_CONTEXT_JSON
    profile = probe.node.try_get_context("profile") or "lab"
    overrides = {
        "account": probe.node.try_get_context("account"),
        "region": probe.node.try_get_context("region"),
    }
    try:
        config = load_profile(profile, overrides)
    except ConfigError as err:
        print(f"configuration error in profile {profile!r}: {err}", file=sys.stderr)
        sys.exit(2)
    # The approved packages to serve: -c release=PATH|example|none, else release/<env>.json
    # when present (the same decision as `labctl synth --release`).
    try:
        release, note = choose_release(config, probe.node.try_get_context("release"))
    except ValueError as err:
        print(f"release error: {err}", file=sys.stderr)
        sys.exit(2)
    if release is None:
        print(note, file=sys.stderr)
    outdir = os.environ.get("CDK_OUTDIR", "cdk.out")
    # The CLI passes cdk.json's feature flags in CDK_CONTEXT_JSON; a direct run needs them too.
    # The CDK CLI's synth (`make deploy`): CDK's full CloudFormation validation stays on.
    app, _ = new_app(
        config, outdir=outdir, context=cdk_json_context(), release=release, cfn_validation=None
    )
    assembly = app.synth()
    # A budget below what the copy bills with no traffic would alert every month.
    templates = {s.stack_name: s.template for s in assembly.stacks}
    try:
        warning = check_deployed_budget(config, templates, release is not None)
    except ConfigError as err:
        print(f"configuration error in profile {profile!r}: {err}", file=sys.stderr)
        sys.exit(2)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Composition root: the only place that reads context and the environment.

    python app.py                      # profile 'lab'
    cdk synth -c profile=prod-like -c account=123456789012 -c region=eu-west-1
"""

from __future__ import annotations

import os
import sys

import aws_cdk as cdk

from infra.config import ConfigError, load_profile
from infra.platform import cdk_json_context, new_app


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
    outdir = os.environ.get("CDK_OUTDIR", "cdk.out")
    # The CLI passes cdk.json's feature flags in CDK_CONTEXT_JSON; a direct run needs them too.
    app, _ = new_app(config, outdir=outdir, context=cdk_json_context())
    app.synth()


if __name__ == "__main__":
    main()

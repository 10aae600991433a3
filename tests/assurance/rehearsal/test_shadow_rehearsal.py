"""The rehearsal on a copy with a shadow variant: the delivery pipeline's deploy role may create
the shadow model (same types, same package group, same role path), and no row goes unmet."""

from __future__ import annotations

import dataclasses
import json

from assurance.rehearsal import rehearse
from assurance.rehearsal.assembly import Assembly
from assurance.rehearsal.known_gaps import KNOWN_GAPS
from core.config import ShadowConfig, load_profile
from core.release import Release
from infra.platform import EXAMPLE_RELEASE, cdk_json_context, new_app


def test_a_shadow_variant_copy_rehearses_clean(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lab = load_profile("lab")
    config = dataclasses.replace(
        lab, serving=dataclasses.replace(lab.serving, shadow=ShadowConfig(enabled=True))
    )
    data = json.loads(EXAMPLE_RELEASE.read_text())
    challenger = data["xgboost"]["package_arn"].rsplit("/", 1)[0] + "/2"
    data["challenger"] = {**data["xgboost"], "package_arn": challenger, "version": 2}
    app, platform = new_app(
        config,
        outdir=tmp_path,
        compliance=False,
        context=cdk_json_context(),
        release=Release.from_dict(data, "shadow-release"),
    )
    app.synth()
    templates = {
        s.stack_name: json.loads((tmp_path / f"{s.stack_name}.template.json").read_text())
        for s in platform.stacks
    }
    serving = templates[config.stack_name("Serving")]["Resources"]
    shadow_models = [k for k in serving if k.startswith("EndpointShadowModel")]
    assert len(shadow_models) == 1  # the copy really has a shadow variant
    report = rehearse(Assembly(templates, config.account, config.region), lint=False)
    report.apply(KNOWN_GAPS)
    assert report.findings == [], report.render()
    # The deploy role was checked for creating the shadow model (its provider schema's
    # handler permissions), and the hosting role for what the shadow variant runs with.
    actions = {r.action for r in report.requirements if "ShadowModel" in r.subject}
    assert "sagemaker:CreateModel" in actions, sorted(actions)

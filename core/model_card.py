"""A registered model version's model card: the content (SageMaker's model card JSON schema)
built from the facts the registry and the evaluation report hold, and its text rendering.

One pure builder for both sides: ``labctl model approve`` puts ``card_content(...)`` into
SageMaker (CreateModelCard / UpdateModelCard, ops/model_card.py) and ``labctl model card
--local`` renders the same content from the lab's registry (lab/model_card.py).

The content follows the model card JSON schema (snake_case sections ``model_overview``,
``model_package_details``, ``intended_uses``, ``training_details``, ``evaluation_details``,
``additional_information``):
https://docs.aws.amazon.com/sagemaker/latest/dg/model-cards.html#model-cards-json-schema
CreateModelCard takes it as a string (Content, at most 100000 characters):
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelCard.html

What each section says:
- evaluation: the challenger's test accuracy from evaluation.json (model_code/evaluate.py).
  The report has one accuracy per model (one test split, ``standard_deviation`` "NaN"), so the
  sd is n/a with that reason; the binomial standard error sqrt(a(1-a)/n) over the report's
  ``test_rows`` is given beside it, named as what it is.
- bias: the report's ``bias`` section when it has one (numeric measures, dotted names), else
  "not computed".
- champion: the gate's comparison (the champion's accuracy, margin and bar) from the report.
- risk rating: ``risk_rating`` below (Low for this use; Medium when a bias measure is outside
  its range or bias was not computed).
- approval history: the registry's ModelApprovalStatus changes, oldest first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NOT_COMPUTED = "not computed"
MAX_TEXT = 1024  # the schema's limit for most free-text fields (custom_details values too)
MAX_LONG_TEXT = 2048  # caveats_and_recommendations, ethical_considerations
# custom_details keys: [a-zA-Z_][a-zA-Z0-9_]*, values at most 1024 characters
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-sagemaker-modelcard-additionalinformation.html
CUSTOM_KEY = r"[a-zA-Z_][a-zA-Z0-9_]*"
PURPOSE = "Classify 8x8 handwritten digit images (64 pixel intensities 0..16) into the digits 0-9."
INTENDED_USES = (
    "Reference and teaching platform: demonstrates training, gating, registering and serving "
    "a classifier. Not for decisions about people; inputs outside the Digits feature range are "
    "out of scope."
)
FACTORS = (
    "Drift of the pixel distribution away from the training data (monitored by Model "
    "Monitor / the drift check); groups of the capturing source with different accuracy."
)


@dataclass(frozen=True)
class ApprovalChange:
    """One ModelApprovalStatus of a version, as the registry recorded it."""

    status: str
    time: str = ""
    description: str = ""
    by: str = ""

    def text(self) -> str:
        parts = [p for p in (self.time, self.status) if p]
        line = " ".join(parts)
        if self.by:
            line += f" by {self.by}"
        if self.description:
            line += f" ({self.description})"
        return line


@dataclass(frozen=True)
class CardFacts:
    """Everything a card says about one registered version (no I/O: callers read it)."""

    package_arn: str
    group: str
    version: int
    approval_status: str
    evaluation: Mapping[str, Any] | None  # evaluation.json, None when unreadable/absent
    evaluation_uri: str = ""
    model_data_url: str = ""
    image: str = ""
    training_data: Sequence[str] = ()  # the preprocess manifest / dataset URIs
    approval_history: Sequence[ApprovalChange] = ()
    pipeline_execution: str = ""
    model: str = "xgboost"  # the evaluation report's key for this version's model
    extra: Mapping[str, str] = field(default_factory=dict)


def card_name(group: str, version: int) -> str:
    """ModelCardName of a version: ``<group>-v<version>`` within the name pattern
    ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`` (API_CreateModelCard)."""
    name = re.sub(r"[^a-zA-Z0-9]+", "-", f"{group}-v{int(version)}").strip("-")
    suffix = f"-v{int(version)}"
    if len(name) > 63:
        name = name[: 63 - len(suffix)].rstrip("-") + suffix
    return name


def _accuracy(metrics: Any) -> tuple[float | None, float | None]:
    """(value, standard deviation) of a model-quality report; None where absent or NaN."""
    try:
        acc = metrics["multiclass_classification_metrics"]["accuracy"]
    except (KeyError, TypeError):
        return None, None

    def number(v: Any) -> float | None:
        try:
            f = float(v)
        except (TypeError, ValueError):
            return None
        return None if math.isnan(f) else f

    return number(acc.get("value")), number(acc.get("standard_deviation"))


def accuracy_summary(
    evaluation: Mapping[str, Any] | None, model: str = "xgboost"
) -> dict[str, Any]:
    """The challenger's accuracy as mean ± sd, with the sd's source or why it is n/a."""
    if not evaluation:
        return {"mean": None, "sd": None, "sd_note": "no evaluation report", "text": "n/a"}
    mean, sd = _accuracy(evaluation.get(model))
    rows = evaluation.get("test_rows")
    if mean is None:
        return {"mean": None, "sd": None, "sd_note": "no accuracy in the report", "text": "n/a"}
    out: dict[str, Any] = {"mean": mean, "sd": sd, "test_rows": rows}
    if sd is not None:
        out["sd_note"] = "standard_deviation from the evaluation report"
        out["text"] = f"{mean:.4f} ± {sd:.4f}"
        return out
    out["sd_note"] = (
        "sd n/a: the evaluation report holds one accuracy (one test split, "
        "standard_deviation NaN), no repeated runs to take an sd over"
    )
    out["text"] = f"{mean:.4f} ± n/a"
    if isinstance(rows, int) and rows > 0:
        se = math.sqrt(mean * (1.0 - mean) / rows)
        out["standard_error"] = se
        out["sd_note"] += f"; binomial standard error sqrt(a(1-a)/n) = {se:.4f} with n = {rows}"
    return out


def champion_summary(
    evaluation: Mapping[str, Any] | None, model: str = "xgboost"
) -> dict[str, Any]:
    """The quality gate's comparison with the champion (evaluate.py's ``gate``)."""
    if not evaluation:
        return {"available": False, "text": "unknown: no evaluation report"}
    gate = evaluation.get("gate") or {}
    challenger, _ = _accuracy(evaluation.get(model))
    champion, _ = _accuracy(evaluation.get("champion"))
    if not gate.get("champion_available") or champion is None:
        return {
            "available": False,
            "text": "no champion (no Approved version when the run started): the accuracy "
            "threshold alone decided",
        }
    margin = float(gate.get("champion_margin", 0.0))
    bar = float(gate.get("champion_bar", champion - margin))
    out: dict[str, Any] = {
        "available": True,
        "champion_accuracy": champion,
        "margin": margin,
        "bar": bar,
        "challenger_accuracy": challenger,
    }
    if challenger is not None:
        out["difference"] = challenger - champion
        verdict = "passed" if challenger >= bar else "did not pass"
        out["text"] = (
            f"champion (newest Approved version when the run started) accuracy {champion:.4f}; "
            f"challenger {challenger:.4f} ({challenger - champion:+.4f}) {verdict} the bar "
            f"{bar:.4f} = champion - margin {margin:.4f}"
        )
    else:
        out["text"] = f"champion accuracy {champion:.4f}, bar {bar:.4f}"
    return out


def bias_figures(evaluation: Mapping[str, Any] | None) -> dict[str, float | None] | None:
    """The report's ``bias`` section as dotted name -> number (None: not computable), or None
    when the report has no bias section (bias not computed)."""
    section = (evaluation or {}).get("bias")
    if not isinstance(section, Mapping):
        return None
    out: dict[str, float | None] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, bool):
            return
        elif value is None:
            out[prefix] = None
        elif isinstance(value, (int, float)):
            out[prefix] = None if math.isnan(float(value)) else float(value)

    walk("", section)
    return out


def bias_violations(evaluation: Mapping[str, Any] | None) -> list[Any]:
    """Every entry of any ``violations`` list inside the report's bias section."""
    found: list[Any] = []

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for key, sub in value.items():
                if key == "violations" and isinstance(sub, list):
                    found.extend(sub)
                else:
                    walk(sub)

    walk((evaluation or {}).get("bias"))
    return found


def risk_rating(evaluation: Mapping[str, Any] | None) -> tuple[str, str]:
    """(rating, explanation): one of the schema's High | Medium | Low | Unknown.

    Low for this use (digit images, no personal data, no decisions about people); Medium when
    bias was not computed (fairness across the capturing source is unknown) or a bias measure
    is outside its range."""
    base = "digit images, no personal data, not used for decisions about people"
    if bias_figures(evaluation) is None:
        return "Medium", f"{base}; but bias was not computed for this version"
    violations = bias_violations(evaluation)
    if violations:
        names = ", ".join(
            str(v.get("measure", v)) if isinstance(v, Mapping) else str(v) for v in violations
        )
        return "Medium", f"{base}; but bias measures outside their range: {names}"
    return "Low", f"{base}; bias measures within their ranges"


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def card_content(facts: CardFacts) -> dict[str, Any]:
    """The model card content (model card JSON schema) of one registered version."""
    evaluation = facts.evaluation
    accuracy = accuracy_summary(evaluation, facts.model)
    champion = champion_summary(evaluation, facts.model)
    bias = bias_figures(evaluation)
    rating, why = risk_rating(evaluation)

    metric_groups: list[dict[str, Any]] = []
    quality: list[dict[str, Any]] = []
    if accuracy["mean"] is not None:
        quality.append(
            {
                "name": "accuracy",
                "type": "number",
                "value": accuracy["mean"],
                "notes": f"test split, {facts.model}",
            }
        )
        if accuracy["sd"] is not None:
            quality.append({"name": "accuracy sd", "type": "number", "value": accuracy["sd"]})
        else:
            quality.append(
                {
                    "name": "accuracy sd",
                    "type": "string",
                    "value": "n/a",
                    "notes": _clip(accuracy["sd_note"]),
                }
            )
        if "standard_error" in accuracy:
            quality.append(
                {
                    "name": "accuracy standard error (binomial)",
                    "type": "number",
                    "value": accuracy["standard_error"],
                }
            )
        if isinstance(accuracy.get("test_rows"), int):
            quality.append({"name": "test rows", "type": "number", "value": accuracy["test_rows"]})
    metric_groups.append({"name": "model quality", "metric_data": quality})
    comparison: list[dict[str, Any]] = []
    if champion["available"]:
        for key, name in (
            ("champion_accuracy", "champion accuracy"),
            ("margin", "margin"),
            ("bar", "gate bar"),
            ("difference", "challenger - champion"),
        ):
            if champion.get(key) is not None:
                comparison.append({"name": name, "type": "number", "value": champion[key]})
    else:
        comparison.append(
            {
                "name": "champion",
                "type": "string",
                "value": "none",
                "notes": _clip(champion["text"]),
            }
        )
    metric_groups.append({"name": "champion comparison", "metric_data": comparison})
    if bias is None:
        metric_groups.append(
            {
                "name": "bias",
                "metric_data": [{"name": "bias", "type": "string", "value": NOT_COMPUTED}],
            }
        )
    else:
        metric_groups.append(
            {
                "name": "bias",
                "metric_data": [
                    {"name": name, "type": "number", "value": value}
                    if value is not None
                    else {"name": name, "type": "string", "value": "n/a (no rows)"}
                    for name, value in sorted(bias.items())
                ],
            }
        )

    evaluation_detail: dict[str, Any] = {
        "name": "test split (model_code/evaluate.py)",
        "evaluation_observation": _clip(
            f"accuracy {accuracy['text']}; {accuracy['sd_note']}. Champion: {champion['text']}. "
            f"Bias: {'see the bias metric group' if bias is not None else NOT_COMPUTED}."
        ),
        "metric_groups": metric_groups,
    }
    if facts.evaluation_uri:
        evaluation_detail["datasets"] = [facts.evaluation_uri]
    if facts.pipeline_execution:
        evaluation_detail["metadata"] = {"pipeline_execution": facts.pipeline_execution}

    history = [change.text() for change in facts.approval_history]
    custom = {f"approval_{i}": _clip(line) for i, line in enumerate(history, start=1)}
    custom.update({k: _clip(v) for k, v in facts.extra.items()})
    training = list(facts.training_data)
    overview: dict[str, Any] = {
        "model_description": _clip(f"{facts.group} version {facts.version}"),
        "problem_type": "Multiclass Classification",
        "algorithm_type": "XGBoost" if facts.model == "xgboost" else facts.model,
    }
    if facts.model_data_url:
        overview["model_artifact"] = [facts.model_data_url]
    if facts.image:
        overview["inference_environment"] = {"container_image": [facts.image]}
    return {
        "model_overview": overview,
        "model_package_details": {
            "model_package_arn": facts.package_arn,
            "model_package_group_name": facts.group,
            "model_package_version": int(facts.version),
            "model_approval_status": facts.approval_status,
            **(
                {"approval_description": _clip(facts.approval_history[-1].description)}
                if facts.approval_history and facts.approval_history[-1].description
                else {}
            ),
        },
        "intended_uses": {
            "purpose_of_model": PURPOSE,
            "intended_uses": INTENDED_USES,
            "factors_affecting_model_efficiency": FACTORS,
            "risk_rating": rating,
            "explanations_for_risk_rating": _clip(why),
        },
        "training_details": {
            "training_observations": _clip(
                "training data: " + (", ".join(training) if training else "not recorded")
            ),
            **({"training_job_details": {"training_datasets": training[:15]}} if training else {}),
        },
        "evaluation_details": [evaluation_detail],
        "additional_information": {
            "caveats_and_recommendations": _clip(
                "Approval history (ModelApprovalStatus changes, oldest first): "
                + ("; ".join(history) if history else "none recorded"),
                MAX_LONG_TEXT,
            ),
            **({"custom_details": custom} if custom else {}),
        },
    }


def _metric_line(metric: Mapping[str, Any]) -> str:
    value = metric.get("value")
    shown = f"{value:.4f}" if isinstance(value, float) else str(value)
    note = f"  ({metric['notes']})" if metric.get("notes") else ""
    return f"- {metric['name']}: {shown}{note}"


def render(content: Mapping[str, Any], title: str = "") -> str:
    """The card as Markdown (readable as plain text too): one section per field it carries."""
    package = content.get("model_package_details", {})
    uses = content.get("intended_uses", {})
    training = content.get("training_details", {})
    extra = content.get("additional_information", {})
    lines = [f"# Model card: {title or package.get('model_package_arn', '')}", ""]
    lines += [
        f"- package: {package.get('model_package_arn', '')}",
        f"- group / version: {package.get('model_package_group_name', '')} / "
        f"{package.get('model_package_version', '')}",
        f"- approval status: {package.get('model_approval_status', '')}",
        "",
        "## Intended use",
        f"{uses.get('purpose_of_model', '')}",
        f"{uses.get('intended_uses', '')}",
        "",
        "## Training data",
        f"{training.get('training_observations', '')}",
        "",
        "## Evaluation",
    ]
    groups: dict[str, list[str]] = {}
    for detail in content.get("evaluation_details", []):
        lines.append(detail.get("evaluation_observation", ""))
        for group in detail.get("metric_groups", []):
            groups[group["name"]] = [_metric_line(m) for m in group.get("metric_data", [])]
    lines += groups.get("model quality", [])
    lines += ["", "## Champion it beat", *groups.get("champion comparison", [])]
    lines += ["", "## Bias", *groups.get("bias", [f"- bias: {NOT_COMPUTED}"])]
    lines += [
        "",
        "## Risk rating",
        f"{uses.get('risk_rating', 'Unknown')}: {uses.get('explanations_for_risk_rating', '')}",
        "",
        "## Approval history",
    ]
    history = [
        f"- {v}"
        for k, v in (extra.get("custom_details") or {}).items()
        if k.startswith("approval_")
    ]
    lines += history or ["- none recorded"]
    return "\n".join(lines) + "\n"

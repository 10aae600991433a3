"""Tooling, staging and production in separate AWS accounts (issue 17): names and rules.

Tooling holds the lake, ingestion, training (pipeline, registry) and delivery; each target
account (staging, production) holds a small target stack (``infra/stacks/target_stack.py``) and
its serving stack(s). Cross-account access needs the caller's identity policy *and* the
resource's policy ("Cross-account policy evaluation logic", IAM User Guide:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
Resource policies here name account roots narrowed by ``aws:PrincipalArn`` (IAM condition keys:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn),
never a role ARN: a policy naming a role that does not exist yet is rejected ("Invalid
principal"), and the roles in the other accounts are deployed later. The target roles have
fixed names under a fixed path, so tooling can name them without a reference. Standard
library only: the IAM statements built from these names are in ``infra/cross_account.py``, the
rules of the ``accounts`` block in ``core/config/`` (``check_accounts``), the release's in
``core/release.py`` (``check_release``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.release import MME_PREFIX

if TYPE_CHECKING:
    from core.config import PlatformConfig

DOC_GROUP_POLICY = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-deploy-xaccount.html"
)
DOC_VIA_SERVICE = (
    "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html"
    "#conditions-kms-via-service"
)
DOC_PIPELINE = (
    "https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-create-cross-account.html"
)
DOC_BUS = (
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/"
    "eb-event-bus-example-policy-cross-account.html"
)

# What a target may do on the registry: read and create a model from a version ("Deploy a
# Model Version from a Different Account", SageMaker Developer Guide). The guide's example
# also lists sagemaker:UpdateModelPackage; a target never writes to tooling, so it is left out.
GROUP_ACTIONS = ("sagemaker:DescribeModelPackageGroup",)
VERSION_ACTIONS = (
    "sagemaker:DescribeModelPackage",
    "sagemaker:ListModelPackages",
    "sagemaker:CreateModel",
)
# Every action a tooling resource policy may grant to a target account: reads only (and
# CreateModel, which creates the model in the caller's account from a version).
READ_ONLY = frozenset(
    {
        *GROUP_ACTIONS,
        *VERSION_ACTIONS,
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:ListBucket",  # production's monitoring roles list the prefixes they read
        "kms:Decrypt",
        "kms:DescribeKey",
    }
)


# -- names ------------------------------------------------------------------------------------


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def partition(config: PlatformConfig) -> str:
    return partition_of(config.region)


def bootstrap_version_arn(*, account: str, region: str, qualifier: str) -> str:
    """The SSM parameter every CDK template's ``BootstrapVersion`` parameter reads."""
    return (
        f"arn:{partition_of(region)}:ssm:{region}:{account}:parameter/cdk-bootstrap/"
        f"{qualifier}/version"
    )


def iam_path(stack_name: str) -> str:
    """The IAM path of a serving stack's roles and managed policies, so the role that deploys
    the stack can be bounded to them (``deploy_permissions``): generated IAM names are
    truncated to 64 characters, so a name prefix cannot bound them; a path can."""
    return f"/{stack_name}/"


def permissions_boundary_arn(config: PlatformConfig, account: str) -> str | None:
    """The boundary every role in ``account`` carries (``security.permissions_boundary``), or
    None. The project's is ``<env>-permissions-boundary`` in each account; an organisation's
    ARN keeps its path and name, in each account (IAM policy ARNs are per account)."""
    setting = config.security.permissions_boundary
    if setting == "none":
        return None
    if setting == "project":
        return f"arn:{partition(config)}:iam::{account}:policy/{config.permissions_boundary_name}"
    arn, partition_, service, region, _, resource = setting.split(":", 5)
    return ":".join((arn, partition_, service, region, account, resource))


def root(config: PlatformConfig, account: str) -> str:
    return f"arn:{partition(config)}:iam::{account}:root"


def target_accounts(config: PlatformConfig) -> tuple[str, ...]:
    """The distinct accounts outside tooling (one if staging and production share one)."""
    found = [config.staging_account, config.production_account]
    return tuple(sorted({a for a in found if a != config.tooling_account}))


def target_stack_name(config: PlatformConfig, account: str) -> str:
    if config.staging_account == config.production_account:
        return config.stack_name("Target")
    unit = "StagingTarget" if account == config.staging_account else "ProductionTarget"
    return config.stack_name(unit)


def serving_account(config: PlatformConfig, stack_name: str) -> str:
    """The account of a serving stack (``<env>-ServingStaging`` or ``<env>-Serving``)."""
    if stack_name == config.stack_name("ServingStaging"):
        return config.staging_account
    return config.production_account


def target_path(config: PlatformConfig) -> str:
    """The IAM path of the target-owned roles the tooling account names."""
    return f"/{config.env_name}-target/"


def pipeline_role_path(config: PlatformConfig) -> str:
    """The tooling delivery pipeline role's path: the action roles trust only it."""
    return f"/{config.env_name}-delivery-pipeline/"


def smoke_build_role_path(config: PlatformConfig) -> str:
    """The tooling smoke-test build's role path: the staging smoke role trusts only it."""
    return f"/{config.env_name}-delivery-smoke/"


TARGET_ROLES = {
    "action": "deploy-action",
    "deployment": "deploy-cfn",
    "smoke": "smoke-test",
    "forward": "retrain-forward",
}


def target_role_name(config: PlatformConfig, role: str) -> str:
    return f"{config.env_name}-{TARGET_ROLES[role]}"


def target_role_arn(config: PlatformConfig, account: str, role: str) -> str:
    name = target_role_name(config, role)
    return f"arn:{partition(config)}:iam::{account}:role{target_path(config)}{name}"


def monitoring_role_path(config: PlatformConfig) -> str:
    """The IAM path of every role in the production account that reads monitoring inputs kept
    in tooling (baselines, monitoring code, labels): the drift job and runner roles and Model
    Monitor's job role. Tooling's resource policies name the account root narrowed to this path
    (``monitoring_role_pattern``), never a role that may not exist yet."""
    return f"/{config.env_name}-monitoring/"


def model_monitor_role(config: PlatformConfig) -> str:
    """Path and name of Model Monitor's job role in production (``/<env>-monitoring/<env>-
    model-monitor``): a fixed name, so the serving stack's deploy-cfn role may create and
    pass exactly this role under the monitoring path and no other role there (issue 25)."""
    return f"{monitoring_role_path(config)}{config.env_name}-model-monitor"


def monitoring_role_pattern(config: PlatformConfig) -> str:
    return (
        f"arn:{partition(config)}:iam::{config.production_account}:role"
        f"{monitoring_role_path(config)}*"
    )


def monitoring_alarm_arns(config: PlatformConfig) -> list[str]:
    """The production endpoint's drift and quality alarms, by their fixed names (ARN format:
    Service Authorization Reference, Amazon CloudWatch, resource type ``alarm``,
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html):
    production forwards their state changes, tooling's retrain bridge matches them."""
    where = f"arn:{partition(config)}:cloudwatch:{config.region}:{config.production_account}"
    return [
        f"{where}:alarm:{name}" for name in (config.drift_alarm_name, config.quality_alarm_name)
    ]


# What production's monitoring roles read in tooling's artifacts bucket: the registered
# versions' baselines (DriftCheckBaselines, under the pipeline's prefix) and the monitoring code
# the training unit deploys (infra/monitoring/drift.py CODE_PREFIX); labels in the raw zone.
MONITORING_ARTIFACT_PREFIXES = ("pipelines/", "code/model_code/")
MONITORING_LABEL_PREFIXES = ("events/",)


def lake_raw_bucket_name(config: PlatformConfig) -> str:
    """The tooling raw zone's fixed name with separate accounts, so production's monitoring
    roles can name the labels they read (a generated name could reach them only through a
    reference across accounts)."""
    return f"{config.env_name}-raw-{config.tooling_account}-{config.region}"


def tooling_role_pattern(config: PlatformConfig, path: str) -> str:
    return f"arn:{partition(config)}:iam::{config.tooling_account}:role{path}*"


def hosting_role_patterns(config: PlatformConfig) -> list[str]:
    """The endpoint roles of the serving stacks in the target accounts (their IAM path)."""
    found = []
    for unit in ("ServingStaging", "Serving"):
        stack = config.stack_name(unit)
        account = serving_account(config, stack)
        pattern = f"arn:{partition(config)}:iam::{account}:role{iam_path(stack)}*"
        if account != config.tooling_account and pattern not in found:
            found.append(pattern)
    return found


def delivery_artifact_bucket_name(config: PlatformConfig) -> str:
    """A fixed name, so the target action roles can name the bucket they read templates from
    (its generated name could only reach them through a reference across accounts)."""
    return f"{config.env_name}-pipeline-{config.tooling_account}-{config.region}"


def model_prefixes(config: PlatformConfig) -> list[str]:
    """Where the registered model archives are (the pipeline's Tune and TrainBaseline
    outputs) and, for multi-model endpoints, the prefix the build publishes them to."""
    base = f"pipelines/{config.pipeline_name}"
    prefixes = [f"{base}/Tune/", f"{base}/TrainBaseline/"]
    if config.serving.kind == "multi_model":
        prefixes.append(MME_PREFIX)
    return prefixes


# -- resource policies in tooling --------------------------------------------------------------


def target_roots(config: PlatformConfig) -> list[str]:
    """Each target account root once (two targets in one account are one principal): the
    principals of the tooling resource policies (``group_policy``, ``infra/cross_account.py``)."""
    return [root(config, a) for a in target_accounts(config)]


def group_policy(config: PlatformConfig, group: str) -> dict[str, Any]:
    """The model package group's resource policy: the target deployment roles may describe the
    group and its versions and create models from them; nothing that writes."""
    p = partition(config)
    where = f"{config.region}:{config.tooling_account}"
    deployers = [target_role_arn(config, a, "deployment") for a in target_accounts(config)]
    condition = {"ArnLike": {"aws:PrincipalArn": deployers}}
    monitoring = []
    if config.monitoring.engine != "none" and group == config.model_package_group:
        # production's monitoring runner reads the deployed XGBoost version's baselines
        monitoring.append(
            {
                "Sid": "ProductionMonitoringDescribesVersions",
                "Effect": "Allow",
                "Principal": {"AWS": root(config, config.production_account)},
                # multi_model serves no package: the runner lists the newest Approved one
                "Action": [
                    "sagemaker:DescribeModelPackage",
                    *(
                        ["sagemaker:ListModelPackages"]
                        if config.serving.kind == "multi_model"
                        else []
                    ),
                ],
                "Resource": f"arn:{p}:sagemaker:{where}:model-package/{group.lower()}/*",
                "Condition": {"ArnLike": {"aws:PrincipalArn": monitoring_role_pattern(config)}},
            }
        )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TargetsDescribeGroup",
                "Effect": "Allow",
                "Principal": {"AWS": target_roots(config)},
                "Action": list(GROUP_ACTIONS),
                "Resource": f"arn:{p}:sagemaker:{where}:model-package-group/{group.lower()}",
                "Condition": condition,
            },
            {
                "Sid": "TargetsUseVersions",
                "Effect": "Allow",
                "Principal": {"AWS": target_roots(config)},
                "Action": list(VERSION_ACTIONS),
                "Resource": f"arn:{p}:sagemaker:{where}:model-package/{group.lower()}/*",
                "Condition": condition,
            },
            *monitoring,
        ],
    }


def retrain_bus_statement(config: PlatformConfig) -> dict[str, Any]:
    """The tooling default bus accepts the monitoring alarms' state changes that production's
    forwarding role puts (EventBridge, "Send events to the default bus in a different account")."""
    p = partition(config)
    return {
        "Sid": f"{config.env_name}RetrainFromProduction",
        "Effect": "Allow",
        "Principal": {"AWS": root(config, config.production_account)},
        "Action": "events:PutEvents",
        "Resource": f"arn:{p}:events:{config.region}:{config.tooling_account}:event-bus/default",
        "Condition": {
            "ArnEquals": {
                "aws:PrincipalArn": target_role_arn(config, config.production_account, "forward")
            }
        },
    }


# -- no references across accounts --------------------------------------------------------------


def _walk(node: Any) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("Fn::ImportValue", "Fn::GetStackOutput"):
                found.append((key, value))
            found += _walk(value)
    elif isinstance(node, list):
        for value in node:
            found += _walk(value)
    return found


def cross_account_references(
    templates: Mapping[str, Mapping[str, Any]], accounts: Mapping[str, str]
) -> list[str]:
    """Every ``Fn::ImportValue``/``Fn::GetStackOutput`` whose source is in another account
    than the stack reading it, or cannot be found at all (CloudFormation resolves both only
    within one account and region). ``accounts``: stack name -> account."""
    exports: dict[str, str] = {}
    for stack, template in templates.items():
        for output in template.get("Outputs", {}).values():
            name = output.get("Export", {}).get("Name")
            if isinstance(name, str):
                exports[name] = stack
    problems = []
    for stack, template in templates.items():
        for fn, arg in _walk(template.get("Resources", {})) + _walk(template.get("Outputs", {})):
            if fn == "Fn::ImportValue":
                name = arg if isinstance(arg, str) else json.dumps(arg)
                source = exports.get(name)
            else:
                source = arg.get("StackName") if isinstance(arg, dict) else None
                name = f"{source}.{arg.get('OutputName') if isinstance(arg, dict) else arg}"
            if source is None or not isinstance(source, str):
                problems.append(f"{stack}: {fn} {name} comes from no stack of this app")
            elif accounts.get(source) != accounts.get(stack):
                problems.append(
                    f"{stack} (account {accounts.get(stack)}): {fn} {name} is exported by "
                    f"{source} (account {accounts.get(source)}); pass it through the release "
                    "file instead"
                )
    return problems


def check_template_dir(outdir: str | Path, accounts: Mapping[str, str]) -> list[str]:
    templates = {
        name: json.loads((Path(outdir) / f"{name}.template.json").read_text())
        for name in accounts
        if (Path(outdir) / f"{name}.template.json").is_file()
    }
    return cross_account_references(templates, accounts)


def stack_accounts(config: PlatformConfig) -> dict[str, str]:
    """The stacks outside the tooling account, with their account (for the rehearsal)."""
    if not config.multi_account:
        return {}
    found = {
        config.stack_name("ServingStaging"): config.staging_account,
        config.stack_name("Serving"): config.production_account,
    }
    if config.monitoring.engine != "none":  # beside the production endpoint
        found[config.stack_name("Monitoring")] = config.production_account
    for account in target_accounts(config):
        found[target_stack_name(config, account)] = account
    return found


def account_names(config: PlatformConfig) -> dict[str, str]:
    """Each distinct account of the copy -> what it holds: "tooling", "staging", "production",
    joined with ", " where they share one (single-account: "tooling, staging, production").
    In that order (for reports: ``labctl cost``)."""
    names: dict[str, list[str]] = {}
    for name, account in named_accounts(config).items():
        names.setdefault(account, []).append(name)
    return {account: ", ".join(found) for account, found in names.items()}


# -- which account holds what (teardown) ---------------------------------------------------------

ACCOUNT_NAMES = ("tooling", "staging", "production")


def named_accounts(config: PlatformConfig) -> dict[str, str]:
    """The profile's three account names with their ids (the same id where accounts are
    shared): the names ``labctl teardown --credentials NAME=...`` takes."""
    return {
        "tooling": config.tooling_account,
        "staging": config.staging_account,
        "production": config.production_account,
    }


def stack_account(config: PlatformConfig, stack_name: str) -> str:
    """The account a stack of this copy deploys to, by its name: the serving and target stacks
    in theirs (``stack_accounts``), the Monitoring stack beside the production endpoint it
    watches, everything else in tooling. The synthesized assembly's environment says the same
    for the stacks it has; this answers for the names a copy may have deployed that the
    assembly in hand lacks (teardown looks for their residue in the right account)."""
    if not config.multi_account:
        return config.account
    if stack_name == config.stack_name("Monitoring"):
        return config.production_account
    return stack_accounts(config).get(stack_name, config.tooling_account)


def budget_limits(config: PlatformConfig) -> dict[str, int]:
    """Each distinct account of the copy -> its monthly budget in USD (the ``CostGuardrail``
    of the stack there, and what ``core.cost`` checks its idle cost against). One account: the
    copy's ``budget.monthly_limit_usd``. Separate accounts: ``budget.account_limits_usd`` of
    the roles it holds, summed where staging and production share one (``check_accounts``
    requires every role and keeps the sum within ``monthly_limit_usd``)."""
    if not config.multi_account:
        return {config.tooling_account: config.budget.monthly_limit_usd}
    limits: dict[str, int] = {}
    for role, account in (
        ("tooling", config.tooling_account),
        ("staging", config.staging_account),
        ("production", config.production_account),
    ):
        limits[account] = limits.get(account, 0) + getattr(config.budget.account_limits_usd, role)
    return limits


def boundary_documents(config: PlatformConfig) -> dict[str, dict[str, Any]]:
    """An organisation's boundary document (``security.permissions_boundary_document``) under
    the ARN each of the copy's accounts names, for the rehearsal; empty when none is given."""
    from core.config import CONFIG_DIR, ConfigError

    name = config.security.permissions_boundary_document
    if not name:
        return {}
    path = Path(name).expanduser()
    path = path if path.is_absolute() else CONFIG_DIR / path
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(
            f"security.permissions_boundary_document: cannot read {path} as JSON ({err})"
        ) from err
    if not isinstance(document, dict) or "Statement" not in document:
        raise ConfigError(
            f"security.permissions_boundary_document: {path} is not an IAM policy document "
            "(a JSON object with a Statement)"
        )
    found = {}
    for account in set(named_accounts(config).values()):
        arn = permissions_boundary_arn(config, account)
        if arn is not None:
            found[arn] = document
    return found

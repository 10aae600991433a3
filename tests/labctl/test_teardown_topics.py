"""Teardown finds the SNS topics a copy's stacks leave (the alert topic, an async endpoint's
success and error topics) and nothing else: by stack-name prefix AND environment/project tags."""

from __future__ import annotations

import boto3
from moto import mock_aws

from core.config import load_profile
from ops.teardown.residue import Clients, Finder, Names, Sweeper

REGION = "us-east-1"


def _topic(sns: object, name: str, env: str | None) -> str:
    tags = (
        []
        if env is None
        else [
            {"Key": "environment", "Value": env},
            {"Key": "project", "Value": "mlops-reference"},
        ]
    )
    return sns.create_topic(Name=name, Tags=tags)["TopicArn"]  # type: ignore[attr-defined]


@mock_aws
def test_async_topics_of_this_copy_are_found_and_deleted_lookalikes_are_not() -> None:
    sns = boto3.client("sns", region_name=REGION)
    mine = [
        _topic(sns, "lab-Serving-EndpointAsyncSuccessTopic542AA726-AbC", "lab"),
        _topic(sns, "lab-ServingStaging-EndpointAsyncErrorTopic6D696979-XyZ", "lab"),
    ]
    others = [
        _topic(sns, "lab2-Serving-EndpointAsyncSuccessTopic542AA726-AbC", "lab2"),
        _topic(sns, "lab-Serving-user-topic", None),  # right prefix, not tagged as ours
        _topic(sns, "user-alerts", "lab"),  # tagged, but no stack of this copy named it
    ]
    names = Names.of(load_profile("lab"))
    clients = Clients(REGION, sns=sns)
    found = Finder(clients, names).sns_topics()
    assert sorted(i.name for i in found) == sorted(mine)
    assert all(not i.billable for i in found)
    sweeper = Sweeper(clients)
    for item in found:
        sweeper.delete(item)
        assert item.ok and item.action == "deleted"
    left = {t["TopicArn"] for t in sns.list_topics()["Topics"]}
    assert left == set(others)

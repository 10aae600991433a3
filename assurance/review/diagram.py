"""The architecture diagram, built from the assembly: services per stack, the references
between them as flows, stack clusters inside the account boundary, and the principals outside.

Nodes are the resources a reviewer thinks in (stream, delivery stream, buckets, pipeline,
registry, endpoint, rules, topic, VPC); their helpers (endpoint config, model, build projects,
subnets, security groups) fold into them. Edges are references found in the templates (Ref,
GetAtt, ImportValue, GetStackOutput, and physical names inside ARNs, event patterns and stage
configurations); how an edge reads (direction, label) depends on the property it was found in.
Rendered with the ``graphviz`` package (DOT source) and the graphviz-pure wheel's layout
engine, so it works from PyPI alone; Debian's ``dot`` is used when graphviz-pure is absent.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz

from assurance.review.assembly import Assembly, Resource, strings_in

Key = tuple[str, str]

_TITLES = {
    "AWS::Kinesis::Stream": "Kinesis stream",
    "AWS::KinesisFirehose::DeliveryStream": "Firehose",
    "AWS::S3::Bucket": "S3",
    "AWS::Glue::Table": "Glue table",
    "AWS::Glue::Database": "Glue database",
    "AWS::SageMaker::Pipeline": "SageMaker Pipeline",
    "AWS::SageMaker::ModelPackageGroup": "Model registry",
    "AWS::SageMaker::Endpoint": "SageMaker endpoint",
    "AWS::SageMaker::MonitoringSchedule": "Model Monitor schedule",
    "AWS::Events::Rule": "EventBridge rule",
    "AWS::Scheduler::Schedule": "EventBridge schedule",
    "AWS::CodePipeline::Pipeline": "CodePipeline",
    "AWS::SNS::Topic": "SNS topic",
    "AWS::EC2::VPC": "VPC",
    "AWS::Budgets::Budget": "Budget",
    "AWS::Lambda::Function": "Lambda",
    "AWS::StepFunctions::StateMachine": "Step Functions",
    "AWS::CloudWatch::Dashboard": "Dashboard",
}
_AGGREGATED = {
    "AWS::CloudWatch::Alarm": "CloudWatch alarms",
    "AWS::EC2::VPCEndpoint": "VPC endpoints",
}
# Resources that CDK adds to run its own custom resources: not part of the architecture.
_FRAMEWORK = re.compile(
    r"BucketNotificationsHandler|CustomResourceProvider|CDKBucketDeployment|Provider/"
)
# Left to right, the way the data flows: ingest -> lake -> training -> registry -> serving ->
# monitoring. Each node belongs to one column (STAGES); a column is one graphviz rank
# (rank=same, across the stack clusters thanks to newrank), the columns are chained in this
# order by invisible edges, and an edge running against the flow (code and artifacts written
# back to the lake, a retrain request) is drawn without pulling nodes out of their column.
RANKDIR = "LR"
STAGES = (
    "producers",
    "stream",
    "delivery",
    "lake",
    "triggers",
    "training",
    "registry",
    "release",
    "serving",
    "monitoring",
    "operations",
)
_STAGE_OF_TYPE = {
    "AWS::Kinesis::Stream": "stream",
    "AWS::KinesisFirehose::DeliveryStream": "delivery",
    "AWS::S3::Bucket": "lake",
    "AWS::SageMaker::Pipeline": "training",
    "AWS::SageMaker::ModelPackageGroup": "registry",
    "AWS::SageMaker::Endpoint": "serving",
}
# Otherwise the stack's unit decides (the part of its name after the environment).
_STAGE_OF_STACK = {
    "Training": "triggers",  # its rules and schedules start the pipeline
    "Delivery": "release",
    "Serving": "serving",
    "ServingStaging": "serving",
    "Monitoring": "monitoring",
    "DataLake": "lake",
    "Ingestion": "stream",  # its catalog table and the endpoint reaper sit beside the stream
}
_COLORS = {
    "AWS::Kinesis::Stream": "#fde2c8",
    "AWS::KinesisFirehose::DeliveryStream": "#fde2c8",
    "AWS::S3::Bucket": "#d6ecd2",
    "AWS::Glue::Table": "#d6ecd2",
    "AWS::Glue::Database": "#d6ecd2",
    "AWS::SageMaker::Pipeline": "#d8e4f8",
    "AWS::SageMaker::ModelPackageGroup": "#d8e4f8",
    "AWS::SageMaker::Endpoint": "#e6dcf5",
    "AWS::CodePipeline::Pipeline": "#f3e0ec",
    "AWS::EC2::VPC": "#eeeeee",
    "AWS::EC2::VPCEndpoint": "#eeeeee",
}


@dataclass
class Node:
    id: str
    stack: str
    type: str
    title: str
    details: list[str] = field(default_factory=list)
    members: list[Key] = field(default_factory=list)
    external: bool = False


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    label: str
    dashed: bool = False
    constraint: bool = True  # False: the edge does not pull nodes into rank order


@dataclass
class Diagram:
    title: str
    account: str
    nodes: dict[str, Node]
    edges: list[Edge]
    stacks: list[str]

    def node_titles(self) -> set[str]:
        return {f"{n.title}|{'|'.join(n.details)}" for n in self.nodes.values()}


def _name(res: Resource) -> str:
    """The construct's own name: ``prod-Ingestion/Ingestion/Stream/Resource`` -> ``Stream``."""
    parts = [p for p in res.path.split("/")[1:] if p not in ("Resource", "Default")]
    return parts[-1] if parts else res.logical_id


def _node_id(key: Key) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{key[0]}__{key[1]}")


def _physical_names(res: Resource) -> list[str]:
    props = res.properties
    names = [
        props.get(k)
        for k in ("ModelPackageGroupName", "PipelineName", "EndpointName", "Name", "StreamName")
    ]
    return [n for n in names if isinstance(n, str) and len(n) > 3]


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(^|[/:\"' ]){re.escape(name)}($|[/:\"' ])", text) is not None


class _Builder:
    def __init__(self, assembly: Assembly) -> None:
        self.a = assembly
        self.firehose_destinations: set[str] = set()
        self.owner: dict[Key, str] = {}
        self.nodes: dict[str, Node] = {}
        self.edges: dict[tuple[str, str], Edge] = {}

    # -- nodes ---------------------------------------------------------------------------
    def add(self, res: Resource, node_id: str | None = None) -> Node:
        node_id = node_id or _node_id(res.key)
        title = _TITLES.get(res.type) or _AGGREGATED.get(res.type) or res.type.split("::", 1)[1]
        node = self.nodes.setdefault(node_id, Node(node_id, res.stack, res.type, title))
        node.members.append(res.key)
        self.owner[res.key] = node_id
        return node

    def fold(self, child: Key, into: str) -> None:
        if child not in self.owner:
            self.owner[child] = into
            self.nodes[into].members.append(child)

    def refs(self, res: Resource, value: Any) -> list[Key]:
        found = []
        for stack, logical in self.a.resolve(res.stack, value):
            other = self.a.stack(stack)
            if other and other.resource(logical) is not None:
                found.append((stack, logical))
        return found

    def build_nodes(self) -> None:
        log_targets: set[Key] = set()
        for bucket in self.a.of_type("AWS::S3::Bucket"):
            target = bucket.properties.get("LoggingConfiguration", {}).get("DestinationBucketName")
            log_targets.update(self.refs(bucket, target))
        for res in self.a.resources():
            if _FRAMEWORK.search(res.path) or res.key in log_targets:
                continue
            if res.type in _TITLES:
                self.add(res)
            elif res.type in _AGGREGATED:
                self.add(res, _node_id((res.stack, res.type)))
        # Helpers fold into the resource that uses them.
        for endpoint in self.a.of_type("AWS::SageMaker::Endpoint"):
            nid = self.owner[endpoint.key]
            for config_key in self.refs(endpoint, endpoint.properties.get("EndpointConfigName")):
                self.fold(config_key, nid)
                config = self.a.find(config_key)
                for variant in (config.properties if config else {}).get("ProductionVariants", []):
                    for model_key in self.refs(endpoint, variant.get("ModelName")):
                        self.fold(model_key, nid)
            stack = self.a.stack(endpoint.stack)
            for other in stack.resources() if stack else []:
                if other.type.startswith("AWS::ApplicationAutoScaling::"):
                    self.fold(other.key, nid)
        for pipeline in self.a.of_type("AWS::CodePipeline::Pipeline"):
            nid = self.owner[pipeline.key]
            for key in self.refs(pipeline, pipeline.properties):
                found = self.a.find(key)
                if (
                    found
                    and found.type in ("AWS::CodeBuild::Project", "AWS::S3::Bucket")
                    and key[0] == pipeline.stack
                ):
                    if key in self.owner:
                        self.nodes[self.owner[key]].members.remove(key)
                        if not self.nodes[self.owner[key]].members:
                            del self.nodes[self.owner[key]]
                        del self.owner[key]
                    self.fold(key, nid)
        # An alarm folds into the resource it watches (its metric dimensions name it).
        for alarm in self.a.of_type("AWS::CloudWatch::Alarm"):
            watched = [
                t
                for t in self.targets(alarm, alarm.properties.get("Dimensions"))
                if t != self.owner.get(alarm.key)
            ]
            if watched and alarm.key in self.owner:
                agg = self.owner.pop(alarm.key)
                self.nodes[agg].members.remove(alarm.key)
                if not self.nodes[agg].members:
                    del self.nodes[agg]
                self.fold(alarm.key, watched[0])
        for vpc in self.a.of_type("AWS::EC2::VPC"):
            stack = self.a.stack(vpc.stack)
            for other in stack.resources() if stack else []:
                if other.type in (
                    "AWS::EC2::Subnet",
                    "AWS::EC2::SecurityGroup",
                    "AWS::EC2::FlowLog",
                ):
                    self.fold(other.key, self.owner[vpc.key])

    def describe(self, node: Node) -> None:
        members = [self.a.find(k) for k in node.members]
        res = [m for m in members if m is not None]
        first = res[0]
        p = first.properties
        d = node.details
        if node.type in _AGGREGATED:
            if node.type == "AWS::EC2::VPCEndpoint":
                services = sorted(str(self._service(m.properties.get("ServiceName"))) for m in res)
                d.append(f"{len(res)}: " + ", ".join(services))
            else:
                d.append(f"{len(res)} alarms")
            return
        d.insert(0, _name(first))
        if node.type == "AWS::Kinesis::Stream":
            d.append(f"{p['ShardCount']} shards" if "ShardCount" in p else "on-demand")
        if node.type == "AWS::S3::Bucket":
            d.append("zone" if "Lake" in first.path else "bucket")
        if node.type == "AWS::SageMaker::Endpoint":
            for m in res:
                if m.type == "AWS::SageMaker::EndpointConfig":
                    for v in m.properties.get("ProductionVariants", []):
                        if "ServerlessConfig" in v:
                            d.append(f"serverless {v['ServerlessConfig'].get('MemorySizeInMB')} MB")
                        else:
                            count, itype = v.get("InitialInstanceCount"), v.get("InstanceType")
                            d.append(f"real-time {count} x {itype}")
                    if m.properties.get("DataCaptureConfig", {}).get("EnableCapture"):
                        d.append("data capture on")
                if m.type == "AWS::SageMaker::Model" and m.properties.get("EnableNetworkIsolation"):
                    d.append("network isolation")
                if m.type == "AWS::ApplicationAutoScaling::ScalableTarget":
                    low, high = m.properties.get("MinCapacity"), m.properties.get("MaxCapacity")
                    d.append(f"autoscaling {low}-{high}")
        if node.type == "AWS::CodePipeline::Pipeline":
            d.append(" > ".join(s["Name"] for s in p.get("Stages", [])))
        if node.type == "AWS::Events::Rule":
            pattern = p.get("EventPattern", {})
            d.append(", ".join(pattern.get("detail-type", [])) or "schedule")
        if node.type == "AWS::EC2::VPC":
            subnets = sum(1 for m in res if m.type == "AWS::EC2::Subnet")
            d.append(f"{subnets} isolated subnets, no NAT/IGW")
        alarms = sum(1 for m in res if m.type == "AWS::CloudWatch::Alarm")
        if alarms:
            d.append(f"{alarms} alarms")
        role = self._role(first)
        if role:
            d.append(f"as {role}")

    @staticmethod
    def _service(value: Any) -> str:
        text = value if isinstance(value, str) else " ".join(strings_in(value))
        return (
            text.rsplit(".", 2)[-1]
            if "sagemaker" not in text
            else "sagemaker." + text.rsplit(".", 1)[-1]
        )

    def _role(self, res: Resource) -> str:
        for k in ("RoleArn", "RoleARN", "ExecutionRoleArn", "ServiceRole"):
            for key in self.refs(res, res.properties.get(k)):
                role = self.a.find(key)
                if role and role.type == "AWS::IAM::Role":
                    parts = [p for p in role.path.split("/")[1:] if p != "Resource"]
                    return "/".join(parts[-2:]) if parts[-1:] == ["Role"] else parts[-1]
        return ""

    # -- edges ---------------------------------------------------------------------------
    def link(
        self, src: str, dst: str, label: str, dashed: bool = False, constraint: bool = True
    ) -> None:
        if src == dst or src not in self.nodes or dst not in self.nodes:
            return
        a, b = self.nodes[src], self.nodes[dst]
        if label in ("alarms", "notifies") and a.stack != b.stack and not a.external:
            # Long dashed edges across the page hide the flows: say it in the box instead.
            note = f"{label} {b.title} ({b.stack.split('-')[-1]})"
            if note not in a.details:
                a.details.append(note)
            return
        if label == "in VPC":
            constraint = True  # the Network stack ranks below the workloads placed in it
        keep = constraint and (not dashed or label == "in VPC")
        self.edges.setdefault((src, dst), Edge(src, dst, label, dashed, keep))

    def targets(self, res: Resource, value: Any) -> list[str]:
        found = [self.owner[k] for k in self.refs(res, value) if k in self.owner]
        text = " ".join(strings_in(value))
        for node in self.nodes.values():
            for key in node.members:
                member = self.a.find(key)
                if member and any(_mentions(text, n) for n in _physical_names(member)):
                    found.append(node.id)
            if node.type == "AWS::SageMaker::Endpoint" and _mentions(text, node.stack):
                found.append(node.id)
        return list(dict.fromkeys(found))

    def build_edges(self) -> None:
        self.firehose_destinations = {
            t
            for f in self.a.of_type("AWS::KinesisFirehose::DeliveryStream")
            for t in self.targets(f, f.properties.get("ExtendedS3DestinationConfiguration"))
        }
        for node in list(self.nodes.values()):
            for key in node.members:
                res = self.a.find(key)
                if res is None:
                    continue
                for prop, value in res.properties.items():
                    if prop == "Tags":
                        continue
                    if res.type == "AWS::Events::Rule" and prop == "Targets":
                        value = [t.get("Arn") for t in value]
                    for target in self.targets(res, value):
                        self._edge(node, res, prop, target)
        for sub in self.a.of_type("AWS::SNS::Subscription"):
            for topic in self.targets(sub, sub.properties.get("TopicArn")):
                ext = self._external(
                    f"{sub.properties.get('Protocol')}: {sub.properties.get('Endpoint')}",
                    "subscribers",
                )
                self.link(topic, ext, "alerts")
        for policy in self.a.of_type("AWS::IAM::ManagedPolicy"):
            if policy.properties.get("Roles"):
                continue
            statements = policy.properties.get("PolicyDocument", {}).get("Statement", [])
            actions = sorted({a.split(":")[-1] for s in statements for a in _list(s.get("Action"))})
            main = [a for a in actions if a.startswith(("Put", "Invoke"))] or actions[:2]
            ext = self._external(_name(policy), "principals granted")
            for st in statements:
                for target in self.targets(policy, st.get("Resource")):
                    if self.nodes[target].type != "AWS::KMS::Key":
                        self.link(ext, target, ", ".join(main))

    def _external(self, label: str, title: str) -> str:
        nid = "ext_" + re.sub(r"[^A-Za-z0-9_]", "_", label)
        self.nodes.setdefault(nid, Node(nid, "", "external", title, [label], external=True))
        return nid

    def _edge(self, node: Node, res: Resource, prop: str, target: str) -> None:
        other = self.nodes[target]
        t = res.type
        if other.type == "AWS::EC2::VPC":
            self.link(node.id, target, "in VPC", dashed=True)
        elif (
            t == "AWS::KinesisFirehose::DeliveryStream"
            and prop == "KinesisStreamSourceConfiguration"
        ):
            self.link(target, node.id, "reads")
        elif t == "AWS::KinesisFirehose::DeliveryStream":
            self.link(node.id, target, "GZIP, KMS")
        elif t == "AWS::Glue::Table":
            self.link(node.id, target, "catalogs", dashed=True)
        elif t == "AWS::Events::Rule" and prop == "EventPattern":
            self.link(target, node.id, "event")
        elif t == "AWS::Events::Rule":
            self.link(node.id, target, "starts")
        elif t == "AWS::SageMaker::Pipeline" and other.type == "AWS::SageMaker::ModelPackageGroup":
            self.link(node.id, target, "registers")
        elif t == "AWS::SageMaker::Pipeline" and other.type == "AWS::SageMaker::Endpoint":
            # The scoring pipeline names the endpoint's capture folder (infra/scoring/construct.py):
            # it writes to the artifacts bucket (its bucket edge), nothing flows to the endpoint.
            return
        elif t == "AWS::SageMaker::Pipeline" and other.type == "AWS::S3::Bucket":
            if target in self.firehose_destinations:
                self.link(target, node.id, "reads events")
            else:
                self.link(node.id, target, "code in, artifacts out", constraint=False)
        elif t == "AWS::SageMaker::Model" and prop in ("PrimaryContainer", "Containers"):
            self.link(target, node.id, "approved package")
        elif t == "AWS::SageMaker::EndpointConfig" and prop == "DataCaptureConfig":
            self.link(node.id, target, "data capture")
        elif t == "AWS::CodePipeline::Pipeline" and other.type == "AWS::SageMaker::Endpoint":
            self.link(node.id, target, "deploys")
        elif t == "AWS::SageMaker::Endpoint" and other.type == "AWS::CloudWatch::Alarm":
            self.link(target, node.id, "auto-rollback", dashed=True)
        elif t == "AWS::CloudWatch::Alarm" and prop == "Dimensions":
            return  # an alarm watching its own stack's resource: stated in the node label
        elif t == "AWS::Glue::Database":
            self.link(node.id, target, "location", dashed=True)
        elif other.type == "AWS::SNS::Topic":
            label = "alarms" if t == "AWS::CloudWatch::Alarm" else "notifies"
            self.link(node.id, target, label, dashed=True)
        elif other.type in ("AWS::S3::Bucket",) and t == "AWS::Events::Rule":
            self.link(target, node.id, "event")
        elif prop in ("Description", "DashboardBody", "AlarmDescription"):
            return  # a name mentioned in prose or on a dashboard: no data flows along it
        elif t == "AWS::Lambda::Function" and prop == "Environment":
            # What a function is configured to act on (the drift runner, the retrain bridge,
            # the reaper): the data it reads, the endpoint it watches, the pipeline it starts.
            if other.type == "AWS::S3::Bucket":
                self.link(target, node.id, "reads", dashed=True)
            elif other.type == "AWS::SageMaker::Endpoint":
                self.link(node.id, target, "watches", dashed=True)
            elif other.type == "AWS::SageMaker::Pipeline":
                self.link(node.id, target, "retrain", dashed=True)
        else:
            self.link(node.id, target, re.sub(r"(?<!^)(?=[A-Z])", " ", prop).lower(), dashed=True)


def _list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def build(assembly: Assembly, title: str) -> Diagram:
    builder = _Builder(assembly)
    builder.build_nodes()
    for node in builder.nodes.values():
        builder.describe(node)
        node.details = list(dict.fromkeys(node.details))  # a rule named after its event
    builder.build_edges()
    account = assembly.stacks[0].account
    region = assembly.stacks[0].region
    return Diagram(
        title=title,
        account=f"AWS account {account} · {region}",
        nodes=builder.nodes,
        edges=list(builder.edges.values()),
        stacks=[s.name for s in assembly.stacks],
    )


# -- rendering ----------------------------------------------------------------------------
def to_dot(diagram: Diagram) -> graphviz.Digraph:
    g = graphviz.Digraph("architecture")
    g.attr(
        rankdir=RANKDIR,
        fontname="Arimo",
        fontsize="20",
        labelloc="t",
        label=diagram.title,
        newrank="true",
        nodesep="0.25",
        ranksep="0.6",
        compound="true",
        pad="0.3",
    )
    g.attr(
        "node",
        shape="box",
        style="rounded,filled",
        fillcolor="white",
        fontname="Arimo",
        fontsize="11",
        margin="0.12,0.06",
    )
    g.attr("edge", fontname="Arimo", fontsize="10", color="#444444", fontcolor="#222222")
    with g.subgraph(name="cluster_account") as account:
        account.attr(label=diagram.account, style="dashed", color="#555555", fontsize="14")
        for stack in diagram.stacks:
            members = [n for n in diagram.nodes.values() if n.stack == stack]
            if not members:
                continue
            with account.subgraph(name=f"cluster_{_node_id((stack, 'stack'))}") as sub:
                sub.attr(
                    label=stack,
                    style="rounded,filled",
                    fillcolor="#f7f7f7",
                    color="#999999",
                    fontsize="13",
                )
                for node in members:
                    sub.node(node.id, _dot_label(node), fillcolor=_COLORS.get(node.type, "white"))
    for node in diagram.nodes.values():
        if node.external:
            g.node(
                node.id, _dot_label(node), shape="box", style="filled,dashed", fillcolor="#fff7cc"
            )
    column = _ranks(g, diagram)
    for edge in diagram.edges:
        backward = column.get(edge.src, -1) > column.get(edge.dst, len(STAGES))
        g.edge(
            edge.src,
            edge.dst,
            label=edge.label,
            style="dashed" if edge.dashed else "solid",
            constraint="true" if edge.constraint and not backward else "false",
        )
    return g


def stage_of(node: Node, diagram: Diagram) -> str | None:
    """The node's column in the left-to-right flow; None for a principal that only calls in
    (an invoke policy): graphviz places it beside what it calls."""
    if node.external:
        feeds = {diagram.nodes[e.dst].type for e in diagram.edges if e.src == node.id}
        return "producers" if "AWS::Kinesis::Stream" in feeds else None
    if node.type in _STAGE_OF_TYPE:
        return _STAGE_OF_TYPE[node.type]
    return _STAGE_OF_STACK.get(node.stack.split("-", 1)[-1], "operations")


def _ranks(g: graphviz.Digraph, diagram: Diagram) -> dict[str, int]:
    """Order the stages left to right with invisible edges: from the first node of each stage
    to every node of the next stage present, and from every node of a stage to the first node
    of the next. Denser schemes (rank=same across clusters, an edge from every node of a stage
    to every node of the next) make graphviz-pure fail in init_rank or in spline routing on
    one profile or the other. Returns node id -> column index."""
    column: dict[str, int] = {}
    for node in diagram.nodes.values():
        stage = stage_of(node, diagram)
        if stage is not None:
            column[node.id] = STAGES.index(stage)
    groups = [sorted(n for n, c in column.items() if c == i) for i in range(len(STAGES))]
    present = [group for group in groups if group]
    for left, right in zip(present, present[1:], strict=False):
        pairs = dict.fromkeys([(left[0], b) for b in right] + [(a, right[0]) for a in left])
        for a, b in pairs:
            g.edge(a, b, style="invis")
    return column


def _dot_label(node: Node) -> str:
    esc = [_esc(x) for x in node.details]
    return "<<b>" + _esc(node.title) + "</b>" + "".join(f"<br/>{x}" for x in esc) + ">"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def layout_engine() -> list[str]:
    """graphviz-pure (a wheel: works from PyPI alone) next to this Python, else ``dot``."""
    beside = Path(sys.executable).parent / "graphviz-pure"
    for candidate in (str(beside), shutil.which("graphviz-pure"), shutil.which("dot")):
        if candidate and Path(candidate).is_file():
            return [candidate]
    raise RuntimeError(
        "no Graphviz layout engine: pip install graphviz-pure (in requirements.txt), "
        "or apt-get install graphviz"
    )


def render(diagram: Diagram, fmt: str) -> bytes:
    source = to_dot(diagram).source
    cmd = [*layout_engine(), f"-T{fmt}"]
    if fmt == "png":
        cmd.append("-Gdpi=110")
    done = subprocess.run(cmd, input=source.encode(), capture_output=True, check=False, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {done.stderr.decode()[:500]}")
    return done.stdout


def to_mermaid(diagram: Diagram) -> str:
    lines = [f"flowchart {RANKDIR}"]
    lines.append(f'  subgraph account["{_mm(diagram.account)}"]')
    for stack in diagram.stacks:
        members = [n for n in diagram.nodes.values() if n.stack == stack]
        if not members:
            continue
        lines.append(f'    subgraph {_node_id((stack, "stack"))}["{_mm(stack)}"]')
        for node in members:
            lines.append(f'      {node.id}["{_mm_label(node)}"]')
        lines.append("    end")
    lines.append("  end")
    for node in diagram.nodes.values():
        if node.external:
            lines.append(f'  {node.id}(["{_mm_label(node)}"])')
    for edge in diagram.edges:
        arrow = f"-. {_mm(edge.label)} .->" if edge.dashed else f"-- {_mm(edge.label)} -->"
        lines.append(f"  {edge.src} {arrow} {edge.dst}")
    return "\n".join(lines) + "\n"


def _mm(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _mm_label(node: Node) -> str:
    return "<b>" + _mm(node.title) + "</b>" + "".join(f"<br/>{_mm(x)}" for x in node.details)

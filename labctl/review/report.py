"""The review as one self-contained HTML page and the same content as Markdown."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from lab.paths import REPO
from labctl.review import cost as cost_mod
from labctl.review import diagram as diagram_mod
from labctl.review import inventory as inventory_mod
from labctl.review import lens as lens_mod
from labctl.review import security
from labctl.review.assembly import Assembly

SECTIONS = (
    ("architecture", "Architecture"),
    ("inventory", "Inventory"),
    ("security", "Security and compliance"),
    ("lens", "Well-Architected ML Lens"),
    ("cost", "Cost"),
)


@dataclass
class Review:
    profile: str
    note: str  # how the assembly was made (release used, ...)
    assembly: Assembly
    inventory: dict[str, list[inventory_mod.Item]]
    gate: list[security.PackResult]
    acks: dict[str, list[security.Ack]]
    roles: list[security.RoleLine]
    stores: list[security.StoreLine]
    exposure: list[security.Exposure]
    entry_points: list[security.Exposure]
    lens: list[lens_mod.Row]
    cost: cost_mod.CostSection
    runtime: tuple[list[str], str]
    diagram: diagram_mod.Diagram


def build(assembly: Assembly, profile: str, note: str = "") -> Review:
    outdir = assembly.outdir
    return Review(
        profile=profile,
        note=note,
        assembly=assembly,
        inventory=inventory_mod.inventory(assembly),
        gate=security.gate(outdir),
        acks=security.acknowledgements(outdir),
        roles=security.roles(assembly),
        stores=security.stores(assembly),
        exposure=security.exposure(assembly),
        entry_points=security.entry_points(assembly),
        lens=lens_mod.evaluate(assembly),
        cost=cost_mod.section(assembly),
        runtime=cost_mod.runtime_resources(profile),
        diagram=diagram_mod.build(assembly, f"Profile {profile}: built from the cloud assembly"),
    )


_ABSOLUTE = re.compile(r"(?<![\w.])/[^\s'\"()`]+")


def portable(text: str) -> str:
    """``text`` with every absolute path of this machine made shareable: relative to the
    checkout when inside it (``config/examples/release.json``), else the file's name only. A
    review page is passed around; one machine's folders mean nothing elsewhere."""

    def short(match: re.Match[str]) -> str:
        path = Path(match.group(0).rstrip(".,;:"))
        tail = match.group(0)[len(str(path)) :]
        shown = path.relative_to(REPO) if path.is_relative_to(REPO) else Path(path.name)
        return str(shown) + tail

    return _ABSOLUTE.sub(short, text)


# -- a tiny document model rendered twice -------------------------------------------------------
Table = tuple[list[str], list[list[str]]]


def _tables(review: Review) -> dict[str, list[tuple[str, object]]]:
    """Section id -> blocks: ("p", text), ("h3", text), ("table", Table), ("details", (summary,
    Table)), ("diagram", None), ("lens", None)."""
    out: dict[str, list[tuple[str, object]]] = {k: [] for k, _ in SECTIONS}
    stacks = review.assembly.stacks
    arch = out["architecture"]
    has_vpc = any(n.type == "AWS::EC2::VPC" for n in review.diagram.nodes.values())
    network = "isolated VPC" if has_vpc else "no VPC (lab)"
    arch.append(
        (
            "p",
            f"{len(stacks)} stacks, {sum(len(v) for v in review.inventory.values())} resources. "
            f"Network mode: {network}. "
            "Boxes are the services of each stack (helpers folded in), dashed outer box the "
            "account, yellow boxes the principals outside the stacks; solid arrows are data and "
            "control flows, dashed arrows alarms, notifications, catalog and VPC placement. "
            "Every box and arrow comes "
            "from a reference found in the templates.",
        )
    )
    arch.append(("diagram", None))
    inv = out["inventory"]
    cols = [
        "logical id",
        "construct path",
        "type",
        "encryption key",
        "deletion / retention",
        "isolation",
        "capacity",
    ]
    for stack, items in review.inventory.items():
        s = review.assembly.stack(stack)
        prot = " (termination protection)" if s and s.termination_protection else ""
        rows = [
            [i.logical_id, i.path, i.type, i.encryption, i.deletion, i.isolation, i.capacity]
            for i in items
        ]
        inv.append(("details", (f"{stack}: {len(items)} resources{prot}", (cols, rows))))
    runtime, note = review.runtime
    inv.append(("h3", "Created at run time, outside CloudFormation"))
    inv.append(("p", note + ("." if runtime else "")))
    if runtime:
        inv.append(
            (
                "table",
                (
                    [
                        "what",
                    ],
                    [[line] for line in runtime],
                ),
            )
        )
    sec = out["security"]
    sec.append(("h3", "Compliance gate per pack"))
    sec.append(
        (
            "table",
            (
                ["pack", "conclusion", "unacknowledged findings", "acknowledged findings"],
                [[g.pack, g.conclusion, str(g.violations), str(g.suppressed)] for g in review.gate],
            ),
        )
    )
    total = sum(len(v) for v in review.acks.values())
    sec.append(("h3", f"Acknowledgements by rule ({total})"))
    for rule, acks in review.acks.items():
        rows = [[a.finding, a.path, a.reason] for a in acks]
        sec.append(
            ("details", (f"{rule}: {len(acks)}", (["finding", "construct", "reason"], rows)))
        )
    sec.append(("h3", f"IAM roles ({len(review.roles)})"))
    sec.append(
        (
            "table",
            (
                ["stack", "role", "assumed by", "may (actions per service, on what)"],
                [[r.stack, r.path or r.logical_id, r.assumed_by, r.may] for r in review.roles],
            ),
        )
    )
    sec.append(("h3", "Encryption per data store"))
    sec.append(
        (
            "table",
            (
                ["stack", "store", "type", "at rest", "in transit"],
                [[s.stack, s.logical_id, s.type, s.at_rest, s.in_transit] for s in review.stores],
            ),
        )
    )
    sec.append(("h3", "Reachable from outside the account"))
    if review.exposure:
        sec.append(
            (
                "table",
                (
                    ["stack", "resource", "type", "what"],
                    [[e.stack, e.logical_id, e.type, e.what] for e in review.exposure],
                ),
            )
        )
    else:
        sec.append(
            (
                "p",
                "Nothing: no resource policy, role trust policy, security group or gateway in the "
                "templates admits a principal or network outside the account.",
            )
        )
    sec.append(
        (
            "p",
            (
                "Doors offered to principals inside the account (standalone managed policies, "
                "attached by the operator):"
            ),
        )
    )
    sec.append(
        (
            "table",
            (
                ["stack", "policy", "grants"],
                [[e.stack, e.logical_id, e.what] for e in review.entry_points],
            ),
        )
    )
    lens = out["lens"]
    c = lens_mod.counts(review.lens)
    lens.append(
        (
            "p",
            f"PASS {c['PASS']}, FAIL {c['FAIL']}, MANUAL {c['MANUAL']}. Ids are the lens's current "
            "best-practice ids (old ids in brackets).",
        )
    )
    lens.append(("lens", None))
    cst = out["cost"]
    cst.append(("h3", "Idle cost"))
    idle = review.cost.idle
    if idle is None:
        cst.append(("p", review.cost.idle_note))
    else:
        cst.append(
            (
                "p",
                f"{review.cost.idle_note}. Prices as of {idle.get('prices_as_of')}, "
                f"region {idle.get('region')}: "
                f"{idle.get('daily_usd')} USD/day, {idle.get('monthly_usd')} USD/month.",
            )
        )
        lines = idle.get("lines", [])
        cst.append(
            (
                "table",
                (
                    ["stack", "resource", "kind", "quantity", "unit", "USD/month"],
                    [
                        [
                            str(x.get(k, ""))
                            for k in (
                                "stack",
                                "resource",
                                "kind",
                                "quantity",
                                "unit",
                                "monthly_usd",
                            )
                        ]
                        for x in lines
                    ],
                ),
            )
        )
    cst.append(("h3", "Main cost drivers under load"))
    cst.append(
        ("table", (["resource", "driver", "scales with"], [list(d) for d in review.cost.drivers]))
    )
    return out


def _lens_rows(review: Review) -> Table:
    rows = []
    for r in review.lens:
        detail = "; ".join(e.render() for e in r.evidence) if r.evidence else ""
        if r.status == lens_mod.MANUAL:
            detail = "Ask: " + r.question
        rows.append([f"{r.id} ({r.old_id})", r.pillar, r.title, r.status, detail])
    return (
        ["best practice", "pillar", "title", "status", "evidence (resource.property) / question"],
        rows,
    )


# -- Markdown -----------------------------------------------------------------------------------
def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(table: Table) -> list[str]:
    cols, rows = table
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return lines + [""]


def markdown(review: Review, mermaid: str) -> str:
    blocks = _tables(review)
    out = [
        f"# Reference-architecture review: profile `{review.profile}`",
        "",
        (
            f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from the cloud assembly "
            f"`{portable(str(review.assembly.outdir))}`. {portable(review.note)}"
        ),
        "",
    ]
    out += [f"- [{title}](#{anchor})" for anchor, title in SECTIONS] + [""]
    for anchor, title in SECTIONS:
        out += [f'<a id="{anchor}"></a>', f"## {title}", ""]
        for kind, body in blocks[anchor]:
            if kind == "p":
                out += [str(body), ""]
            elif kind == "h3":
                out += [f"### {body}", ""]
            elif kind == "table":
                out += _md_table(body)  # type: ignore[arg-type]
            elif kind == "details":
                summary, table = cast(tuple[str, Table], body)
                out += (
                    [f"<details><summary>{html.escape(summary)}</summary>", ""]
                    + _md_table(table)
                    + ["</details>", ""]
                )
            elif kind == "diagram":
                out += [
                    "![architecture](architecture.svg)",
                    "",
                    "```mermaid",
                    mermaid.rstrip(),
                    "```",
                    "",
                ]
            elif kind == "lens":
                out += _md_table(_lens_rows(review))
    return "\n".join(out)


# -- HTML ---------------------------------------------------------------------------------------
CSS = """
body{font-family:Arial,Helvetica,sans-serif;margin:0;color:#1d1d1f;background:#fff}
header{background:#232f3e;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:6px 0 0;color:#d5dbe3;font-size:13px}
nav{position:sticky;top:0;background:#f2f4f7;border-bottom:1px solid #d0d5dd;padding:8px 28px}
nav a{margin-right:18px;color:#0b5cad;text-decoration:none;font-weight:bold;font-size:14px}
main{padding:8px 28px 40px}h2{border-bottom:2px solid #232f3e;padding-bottom:4px;margin-top:34px}
table{border-collapse:collapse;width:100%;font-size:12px;margin:8px 0 16px}
th,td{border:1px solid #d0d5dd;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eef1f5}tr:nth-child(even) td{background:#fafbfc}
td{word-break:break-word}details{margin:6px 0}
summary{cursor:pointer;font-weight:bold;font-size:13px}
.diagram{overflow-x:auto;border:1px solid #d0d5dd;padding:8px;background:#fff}
.diagram svg{max-width:100%;height:auto}
table td.PASS,.counts .PASS{color:#fff;background:#1e7e34;font-weight:bold;text-align:center}
table td.FAIL,.counts .FAIL{color:#fff;background:#c62828;font-weight:bold;text-align:center}
table td.MANUAL,.counts .MANUAL{color:#1d1d1f;background:#ffd54f;font-weight:bold;text-align:center}
table.lens td:nth-child(1),table.lens td:nth-child(2),table.lens td:nth-child(4){white-space:nowrap}
table.lens td:nth-child(3){min-width:240px}table.lens ul{margin:0;padding-left:16px}
table.lens li.no{color:#c62828;font-weight:bold}
.counts span{display:inline-block;padding:4px 10px;margin-right:8px;border-radius:4px}
"""


def _html_table(table: Table, status_col: int | None = None) -> str:
    cols, rows = table
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            cls = f' class="{cell}"' if i == status_col else ""
            cells.append(f"<td{cls}>{html.escape(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _html_lens(review: Review) -> str:
    """The lens table; evidence as a list, long lists folded (failing evidence first)."""
    head = "".join(
        f"<th>{c}</th>"
        for c in ("best practice", "pillar", "title", "status", "evidence / question")
    )
    rows = []
    for r in review.lens:
        if r.status == lens_mod.MANUAL:
            detail = f"<b>Ask:</b> {html.escape(r.question)}"
        else:
            ordered = sorted(r.evidence, key=lambda e: e.holds)
            items = [
                f'<li class="{"ok" if e.holds else "no"}">{html.escape(e.render())}</li>'
                for e in ordered
            ]
            bad = sum(1 for e in r.evidence if not e.holds)
            if len(items) > 4:
                summary = f"{len(items)} resources, " + (
                    f"{bad} do not hold" if bad else "all hold"
                )
                detail = (
                    f"<ul>{''.join(items[:3])}</ul><details><summary>{summary}</summary>"
                    f"<ul>{''.join(items[3:])}</ul></details>"
                )
            else:
                detail = f"<ul>{''.join(items)}</ul>"
        rows.append(
            f"<tr><td>{r.id}<br>({r.old_id})</td><td>{html.escape(r.pillar)}</td>"
            f'<td>{html.escape(r.title)}</td><td class="{r.status}">{r.status}</td>'
            f"<td>{detail}</td></tr>"
        )
    return (
        f'<table class="lens"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def inline_svg(svg: str) -> str:
    """The SVG element alone (no XML declaration or DOCTYPE, which HTML does not allow)."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def html_page(review: Review, svg: str, mermaid: str) -> str:
    blocks = _tables(review)
    c = lens_mod.counts(review.lens)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Review: profile {html.escape(review.profile)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<header><h1>Reference-architecture review: profile {html.escape(review.profile)}</h1>",
        f"<p>Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from the cloud assembly "
        f"{html.escape(portable(str(review.assembly.outdir)))}. "
        f"{html.escape(portable(review.note))} "
        f"Lens: PASS {c['PASS']} · FAIL {c['FAIL']} · MANUAL {c['MANUAL']}.</p></header>",
        "<nav>"
        + "".join(f'<a href="#{a}">{html.escape(t)}</a>' for a, t in SECTIONS)
        + "</nav><main>",
    ]
    for anchor, title in SECTIONS:
        parts.append(f'<section id="{anchor}"><h2>{html.escape(title)}</h2>')
        for kind, body in blocks[anchor]:
            if kind == "p":
                parts.append(f"<p>{html.escape(str(body))}</p>")
            elif kind == "h3":
                parts.append(f"<h3>{html.escape(str(body))}</h3>")
            elif kind == "table":
                parts.append(_html_table(body))  # type: ignore[arg-type]
            elif kind == "details":
                summary, table = cast(tuple[str, Table], body)
                parts.append(
                    f"<details><summary>{html.escape(summary)}</summary>{_html_table(table)}</details>"
                )
            elif kind == "diagram":
                parts.append(f'<div class="diagram">{inline_svg(svg)}</div>')
                parts.append(
                    "<details><summary>Mermaid source</summary>"
                    f"<pre>{html.escape(mermaid)}</pre></details>"
                )
            elif kind == "lens":
                parts.append(
                    '<p class="counts">'
                    + "".join(
                        f'<span class="{s}">{s} {c[s]}</span>' for s in ("PASS", "FAIL", "MANUAL")
                    )
                    + "</p>"
                )
                parts.append(_html_lens(review))
        parts.append("</section>")
    parts.append("</main></body></html>")
    return "\n".join(parts)


def write(review: Review, folder: Path) -> dict[str, Path]:
    """Write the review folder; returns the paths by role."""
    folder.mkdir(parents=True, exist_ok=True)
    svg = diagram_mod.render(review.diagram, "svg").decode()
    png = diagram_mod.render(review.diagram, "png")
    mermaid = diagram_mod.to_mermaid(review.diagram)
    paths = {
        "html": folder / "review.html",
        "markdown": folder / "review.md",
        "svg": folder / "architecture.svg",
        "png": folder / "architecture.png",
        "mermaid": folder / "architecture.mmd",
        "dot": folder / "architecture.dot",
        "lens": folder / "lens.json",
    }
    paths["svg"].write_text(svg)
    paths["png"].write_bytes(png)
    paths["mermaid"].write_text(mermaid)
    paths["dot"].write_text(diagram_mod.to_dot(review.diagram).source)
    paths["markdown"].write_text(markdown(review, mermaid))
    paths["html"].write_text(html_page(review, svg, mermaid))
    paths["lens"].write_text(
        json.dumps(
            [
                {
                    "id": r.id,
                    "old_id": r.old_id,
                    "pillar": r.pillar,
                    "title": r.title,
                    "status": r.status,
                    "evidence": [e.render() for e in r.evidence],
                    "question": r.question,
                }
                for r in review.lens
            ],
            indent=1,
        )
    )
    return paths

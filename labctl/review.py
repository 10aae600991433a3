"""labctl review: a reference-architecture review generated from a profile's cloud assembly.

One synth (or an existing assembly with ``--assembly``), then: the architecture diagram (SVG,
PNG, Mermaid), the inventory, security and compliance, the Well-Architected ML Lens table and
the cost section, as one self-contained HTML page and the same content as Markdown. Exit 1
when the gate has unacknowledged findings or an ML Lens row FAILs (the review is still
written), 0 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import time
from pathlib import Path

from labctl.options import add_examples, add_profile
from ops.errors import OperationFailed, UsageError


def run(args: argparse.Namespace) -> int:
    from assurance.review.assembly import Assembly
    from assurance.review.report import build, write
    from core.assembly import AssemblyError
    from core.config import ConfigError, load_profile
    from core.release import release_path

    started = time.perf_counter()
    if args.assembly:
        outdir = Path(args.assembly)
        note = f"Assembly read from {outdir} (not synthesized by this command)."
        violations = 0
    else:
        from labctl.synth import synthesize

        try:
            config = load_profile(args.profile)
        except ConfigError as err:
            raise UsageError(f"profile {args.profile!r}: {err}") from err
        release = args.release or (None if release_path(config.env_name).is_file() else "example")
        outdir = Path(args.outdir or f"cdk.out.{Path(args.profile).stem}")
        summary = synthesize(args.profile, outdir, None, release)
        violations = summary.violations
        note = summary.release_note + (
            " (the offline example packages)" if release == "example" else ""
        )
    try:
        assembly = Assembly.read(outdir)
    except AssemblyError as err:
        raise UsageError(str(err)) from err
    synth_done = time.perf_counter()
    review = build(assembly, args.profile, note, runtime_resources(args.profile))
    folder = Path(args.out or f"review.{Path(args.profile).stem}")
    paths = write(review, folder)
    seconds = time.perf_counter() - synth_done
    from assurance.review.lens import counts

    c = counts(review.lens)
    print(
        f"review of profile {args.profile}: {folder}/ ({seconds:.1f} s beyond the synth, "
        f"{synth_done - started:.1f} s synth/read)"
    )
    for role, path in paths.items():
        print(f"  {role:<9} {path}")
    print(f"  lens: PASS {c['PASS']}, FAIL {c['FAIL']}, MANUAL {c['MANUAL']}")
    # A FAIL row is a practice the templates contradict: the review says so and the exit code
    # agrees (1), as the gate's findings do. MANUAL rows are questions, not failures.
    problems = []
    if violations:
        problems.append(f"{violations} unacknowledged compliance findings")
    failed = [f"{r.id} ({r.title})" for r in review.lens if r.status == "FAIL"]
    if failed:
        problems.append(f"ML Lens FAIL: {', '.join(failed)}")
    if problems:
        raise OperationFailed("; ".join(problems) + f" (see {folder}/review.html)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("review", help="write a reference-architecture review of a profile")
    add_profile(parser)
    parser.add_argument("--out", help="review folder (default review.<profile>)")
    parser.add_argument("--outdir", help="cloud assembly folder (default cdk.out.<profile>)")
    parser.add_argument(
        "--assembly", help="review this existing cloud assembly instead of synthesizing"
    )
    parser.add_argument(
        "--release",
        help="as for synth; default release/<env>.json when it exists, else 'example' so the "
        "serving stacks are reviewed too",
    )
    add_examples(
        parser,
        "labctl review --profile lab",
        "labctl review --profile prod-like --out /tmp/review",
    )
    parser.set_defaults(handler=run)


def runtime_resources(profile: str) -> tuple[list[str], str]:
    """What one copy creates at run time outside CloudFormation, as the teardown sweep knows it.

    Read from the teardown's residue module (``ops.teardown.residue``: the kinds it lists and
    deletes, in order, and the names it derives from the profile); listing what actually exists
    needs an account (``labctl teardown`` plans it). Here, not in the review: assurance
    imports no teardown code; ``assurance.review.report.build`` takes these lines.
    """
    try:
        from core.config import load_profile

        module = importlib.import_module("ops.teardown.residue")
        names = module.Names.of(load_profile(profile))
        retained = set(getattr(module, "RETAINED_KINDS", ()))
        kinds = [
            f"{kind} (kept by the retain profile)" if kind in retained else kind
            for kind in module.SWEEP_ORDER
        ]
        lines = [
            "kinds the teardown sweep lists and deletes, in order: " + ", ".join(kinds),
            "endpoints (and their configs and models, also from rolled-back deployments): "
            + ", ".join(names.endpoints),
            f"pipeline executions, experiments and trials of pipeline {names.pipeline}",
            "model package versions registered in groups " + ", ".join(names.groups),
            "job log streams in " + ", ".join(getattr(module, "JOB_LOG_GROUPS", ())),
            f"Lake Formation grants and registrations around database {names.database}",
        ]
        return lines, "from the teardown plan's residue list (ops.teardown.residue)"
    except Exception as err:
        return [], f"teardown plan failed: {type(err).__name__}: {err}"

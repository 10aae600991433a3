"""Mutation testing of the core modules with mutmut, one module at a time (`make mutation`).

Each module runs in a throwaway copy of the work tree (tracked + untracked, not ignored files)
under ``$MUTATION_DIR`` (default /tmp/mutation-<user>), with a mutmut config that mutates
only that module and runs only the fast test files that cover it (mutmut then narrows each
mutant to the tests that reach the mutated function). The work tree is never modified.

    python tests/mutation/run.py                       # every module, 20 min each at most
    python tests/mutation/run.py producer endpoint     # some modules
    MUTATION_LIMIT=600 python tests/mutation/run.py    # seconds per module

Prints, per module: killed / survived / timeout / no tests and the score
killed / (killed + survived). A module cut by the time limit says so: its score covers
the mutants that ran. Surviving mutants judged equivalent or not worth a test are listed
in tests/MUTANTS.md with the reason.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# module -> (files to mutate, the fast test files that cover them)
MODULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "producer": (
        ("ops/producer",),
        ("tests/labctl/test_ingest.py", "tests/labctl/test_ingest_kinesis.py"),
    ),
    "executor": (
        ("pipelines/local/executor.py", "pipelines/local/steps", "pipelines/local/jobs.py"),
        ("tests/pipelines/test_executor_unit.py", "tests/pipelines/test_local_executor.py"),
    ),
    # The executor against its seconds-fast unit tests only (the full pipeline runs of
    # test_local_executor.py make mutmut's first, traced test run take many minutes).
    "executor-unit": (
        ("pipelines/local/executor.py", "pipelines/local/steps", "pipelines/local/jobs.py"),
        ("tests/pipelines/test_executor_unit.py",),
    ),
    "endpoint": (
        (
            "lab/endpoint/models.py",
            "ops/payload.py",
            "lab/registry.py",
            "lab/endpoint/server.py",
            "lab/endpoint/capture.py",
        ),
        ("tests/lab/endpoint/test_serve_endpoint.py", "tests/labctl/test_serve_cli.py"),
    ),
    # The endpoint against its socket-free unit tests (LocalEndpoint.invoke and its parts):
    # seconds per mutant instead of an HTTP server and boto3 per mutant.
    "endpoint-unit": (
        (
            "lab/endpoint/models.py",
            "ops/payload.py",
            "lab/registry.py",
            "lab/endpoint/server.py",
            "lab/endpoint/capture.py",
            "lab/endpoint/entry_point.py",
        ),
        (
            "tests/lab/endpoint/test_endpoint_unit.py",
            "tests/lab/endpoint/test_serve_entry_point.py",
        ),
    ),
    "release": (
        ("ops/release.py", "labctl/release.py", "core/release.py"),
        ("tests/labctl/test_release.py",),
    ),
    # The expiry reaper's runtime (its keep tag, dry-run switch, stack-managed rule) against
    # its moto tests; the file's synth tests reach none of its functions.
    "reaper": (
        ("infra/operations/runtime/reaper/reaper.py", "model_code/stack_contract.py"),
        ("tests/infra/test_reaper.py",),
    ),
    # The helpers against small bare stacks only: test_gate.py's checks synthesize the whole
    # app (a minute per mutant), so they stay out of the mutation run.
    "compliance": (
        ("infra/compliance/packs.py",),
        ("tests/compliance/test_packs_unit.py",),
    ),
    # model_code/: what runs inside the SageMaker containers, one module per script.
    "preprocess": (("model_code/preprocess.py",), ("tests/model_code/test_preprocess.py",)),
    "drift": (("model_code/drift.py",), ("tests/model_code/test_drift.py",)),
    "evaluate": (
        ("model_code/evaluate.py", "model_code/train_baseline.py"),
        ("tests/model_code/test_train_evaluate.py", "tests/pipelines/test_executor_unit.py"),
    ),
    "quality": (("model_code/quality.py",), ("tests/model_code/test_quality.py",)),
    "monitor-baseline": (
        ("model_code/monitor_baseline.py",),
        ("tests/model_code/test_monitor_baseline.py",),
    ),
    "model-code-small": (
        (
            "model_code/archive.py",
            "model_code/events.py",
            "model_code/layout.py",
            "model_code/registry_contract.py",
            "model_code/monitoring_contract.py",
        ),
        (
            "tests/model_code/test_archive.py",
            "tests/model_code/test_registry_contract.py",
            "tests/model_code/test_preprocess.py",
            "tests/model_code/test_drift.py",
            "tests/labctl/test_ingest.py",
        ),
    ),
    # The entry-point tests load the file as the container does (module "_entry_point_0"),
    # which mutmut cannot map to the mutated module: the module-import tests measure it.
    "baseline-inference": (
        ("model_code/baseline_inference.py",),
        ("tests/model_code/test_baseline_inference.py",),
    ),
    # test_scoring_pipeline.py synthesizes the scoring unit too: only its feed test here.
    "batch-capture": (
        ("model_code/batch_capture.py",),
        (
            "tests/infra/test_scoring_pipeline.py::test_capture_feed_matches_the_local_endpoint_capture",
        ),
    ),
    # The Lambda runtimes, against their moto/Stubber tests (no synth: node ids, not files,
    # where a file also holds whole-app synth tests).
    "monitoring-runtime": (
        (
            "infra/monitoring/runtime/drift_runner.py",
            "infra/monitoring/runtime/retrain_bridge.py",
        ),
        ("tests/infra/test_monitoring_runtime.py",),
    ),
    "ground-truth-runtime": (
        ("infra/monitoring/ground_truth_runtime/ground_truth.py",),
        ("tests/infra/test_ground_truth.py",),
    ),
    "reaper-runtime": (
        ("infra/operations/runtime/reaper/reaper.py",),
        (
            "tests/infra/test_reaper.py::test_reaper_deletes_expired_endpoints_of_its_copy_only",
            "tests/infra/test_reaper.py::test_nothing_expires_before_its_lifetime",
            "tests/infra/test_reaper.py::test_reaper_is_capped_per_run_and_has_a_dry_run",
            "tests/infra/test_reaper.py::test_an_endpoint_mid_update_is_left_and_reported",
        ),
    ),
}

# Workers at once per module (mutmut's --max-children; default: one per core). The compliance
# helpers' tests synthesize small CDK stacks through jsii, whose node process (started on
# import) forked workers share: one at a time works, two at once garble its pipe. (A fork
# server that imports nothing gives each worker its own, but then every mutant pays the
# aws_cdk import: about 15 s on the shared machine instead of about 2.)
MAX_CHILDREN: dict[str, int] = {"compliance": 1}
# Seconds added to each mutant's expected test time before its time limit (mutmut's
# timeout_constant): module-scoped fixtures (an HTTP server, one pipeline run) are timed
# against the first test only; a mutant running a later test alone pays for them too.
TIMEOUT_CONSTANT = {"endpoint": 60, "executor": 60, "compliance": 30}

# mutmut's exit-code meaning (mutmut.stats.status_by_exit_code)
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped"}
STATUS |= dict.fromkeys((36, -24, 24, 152, 255), "timeout")
# Everything the tests import or read besides the mutated files (mutmut copies these).
ALSO_COPY = (
    "model_code",
    "pipelines",
    "core",
    "infra",
    "assurance",
    "ops",
    "lab",
    "labctl",
    "config",
    "tests",
    "app.py",
    "cdk.json",
)


def _copy_tree(target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    files = (
        listed.stdout.splitlines()
        if listed.returncode == 0
        else [  # an exported tree without .git (e.g. `git archive` of an older commit)
            str(p.relative_to(REPO))
            for p in REPO.rglob("*")
            if not {".venv", "mutants", "__pycache__"} & set(p.relative_to(REPO).parts)
        ]
    )
    for name in files:
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(REPO / ".venv")


def _config(name: str, sources: tuple[str, ...], tests: tuple[str, ...]) -> str:
    def listing(values: tuple[str, ...]) -> str:
        return "".join(f"\n    {v}" for v in values)

    return (
        "[mutmut]\n"
        f"source_paths ={listing(sources)}\n"
        f"pytest_add_cli_args_test_selection ={listing(tests)}\n"
        f"also_copy ={listing(ALSO_COPY)}\n"
        "pytest_add_cli_args =\n    -p no:cacheprovider\n    -q\n"
        f"timeout_constant = {TIMEOUT_CONSTANT.get(name, 20)}\n"
        # A mutant that hangs (a loop that never ends, a wait that never returns) is a
        # timeout after 3x its tests' time plus the constant (wall clock), not mutmut's 15x.
        "timeout_multiplier = 3\n"
    )


def score(workdir: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for meta in (workdir / "mutants").rglob("*.meta"):
        for code in json.loads(meta.read_text()).get("exit_code_by_key", {}).values():
            counts[STATUS.get(code, "not run" if code is None else "suspicious")] += 1
    return counts


def run_module(name: str, root: Path, limit: int) -> dict[str, object]:
    sources, wanted = MODULES[name]
    # older trees lack newer files; a node id (file::test) counts by its file
    tests = tuple(t for t in wanted if (REPO / t.split("::")[0]).is_file())
    workdir = root / name
    _copy_tree(workdir)
    (workdir / "setup.cfg").write_text(_config(name, sources, tests))
    started = time.monotonic()
    # mutmut forks one worker per mutant from a process that has run the tests. XGBoost's
    # OpenMP (libgomp) thread pool does not survive fork: a forked child that predicts waits
    # forever on a futex its parent's pool threads held (the endpoint's "hang": 0 CPU
    # seconds, one thread, futex_do_wait). One OpenMP thread means no pool, so no deadlock.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # test_endpoint_unit.py trains its fixture models once per run here, not once per mutant.
    env["ENDPOINT_FIXTURE_DIR"] = str(workdir / ".endpoint-fixture")
    with (workdir / "mutmut.log").open("w") as log:
        done = subprocess.run(
            ["nice", "-n", "10", "timeout", str(limit), ".venv/bin/mutmut", "run"]
            + (["--max-children", str(MAX_CHILDREN[name])] if name in MAX_CHILDREN else []),
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    counts = score(workdir)
    killed, survived = counts["killed"], counts["survived"]
    return {
        "module": name,
        "files": list(sources),
        "tests": list(tests),
        "seconds": round(time.monotonic() - started),
        "complete": done.returncode == 0,
        "counts": dict(counts),
        "score": round(killed / (killed + survived), 3) if killed + survived else None,
        "workdir": str(workdir),
    }


def main(argv: list[str]) -> int:
    names = argv or list(MODULES)
    unknown = sorted(set(names) - set(MODULES))
    if unknown:
        print(f"unknown module(s) {', '.join(unknown)}; use {', '.join(MODULES)}", file=sys.stderr)
        return 2
    root = Path(os.environ.get("MUTATION_DIR") or f"/tmp/mutation-{getpass.getuser()}")
    limit = int(os.environ.get("MUTATION_LIMIT", "1200"))
    results = []
    for name in names:
        result = run_module(name, root, limit)
        results.append(result)
        counts = result["counts"]
        assert isinstance(counts, dict)
        note = "" if result["complete"] else f" (cut at {limit} s: partial)"
        print(
            f"{name:<10} score {result['score']}  killed {counts.get('killed', 0)}  "
            f"survived {counts.get('survived', 0)}  timeout {counts.get('timeout', 0)}  "
            f"no tests {counts.get('no tests', 0)}  not run {counts.get('not run', 0)}  "
            f"{result['seconds']} s{note}",
            flush=True,
        )
    (root / "summary.json").write_text(json.dumps(results, indent=2))
    print(f"details: {root}/<module>/mutmut.log, `mutmut results` inside each; {root}/summary.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Local async round trip: upload one Digits row to the local bucket, InvokeEndpointAsync over
HTTP (boto3), poll the output location every 10 ms until the answer is there.

Run: ``python benchmarks/bench_async.py [--workdir .lab] [--requests 20] [--repeats 5]``. Uses
the lab registry when present, else trains small stand-in models. Prints the median of
``--repeats`` runs of each run's median round trip (and the p90), and checks every answer
against the real-time endpoint on the same model. Poll interval bounds the resolution.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.async_stage import round_trips  # noqa: E402
from lab.endpoint.fixtures import build_registry  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--poll-seconds", type=float, default=0.01)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir
        if workdir is None or not (workdir / "registry" / "registry.json").is_file():
            workdir = Path(tmp)
            build_registry(workdir)
        medians, p90s = [], []
        for _ in range(args.repeats):
            seconds, answers, expected = round_trips(
                workdir, "bench-digits", args.requests, args.poll_seconds
            )
            assert answers == expected, "async answers differ from the real-time endpoint"
            medians.append(statistics.median(seconds) * 1000)
            p90s.append(sorted(seconds)[int(0.9 * (len(seconds) - 1))] * 1000)
    print(
        f"async round trip (local, {args.requests} sequential requests, poll "
        f"{args.poll_seconds * 1000:.0f} ms): median {statistics.median(medians):.1f} ms "
        f"(median of {args.repeats} runs: {', '.join(f'{m:.1f}' for m in medians)}), "
        f"p90 {statistics.median(p90s):.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Local batch transform throughput: rows/s over a curated prefix, median of N runs.

Run: python benchmarks/bench_batch.py [--runs 5] [--rows 20000] [--files 4] [--max-payload-mb 6]
The same code path as `labctl batch transform --local`: Line split, MultiRecord mini-batches
within MaxPayloadInMB, the endpoint's in-process invoke (parse, XGBoost predict, format) and
<key>.out files; data capture off (on, it adds one JSON line per row: `--capture`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from any folder


def main() -> int:
    from sklearn.datasets import load_digits

    from lab.endpoint import CaptureWriter, LocalEndpoint
    from lab.endpoint.batch import transform
    from lab.endpoint.fixtures import build_registry
    from lab.registry import settings_from_registry

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--max-payload-mb", type=int, default=6)
    parser.add_argument("--capture", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    build_registry(folder, xgboost_versions=1, rounds=100)  # the study guide's 100 rounds
    endpoint = LocalEndpoint(settings_from_registry(folder, "real_time"))
    x, _ = load_digits(return_X_y=True)
    lines = [",".join(f"{v:g}" for v in row) for row in x]
    source = folder / "curated" / "scoring"
    for f in range(args.files):
        part = source / f"part-{f:05d}.csv"
        part.parent.mkdir(parents=True, exist_ok=True)
        part.write_text(
            "".join(f"r{i},{lines[i % len(lines)]}\n" for i in range(f, args.rows, args.files))
        )
    rates = []
    for run in range(1, args.runs + 1):
        writer = CaptureWriter(folder / "capture", "bench") if args.capture else None
        result = transform(
            endpoint,
            source,
            folder / "out" / str(run),
            max_payload_mb=args.max_payload_mb,
            capture=writer,
        )
        if writer is not None:
            writer.close()
        if result.records != args.rows:
            raise SystemExit(f"run {run}: {result.records} rows, expected {args.rows}")
        rates.append(result.rows_per_second)
        print(
            f"run {run}: {result.seconds:.2f} s, {result.requests} requests, "
            f"{result.rows_per_second:,.0f} rows/s"
        )
    print(
        f"local batch transform: median {statistics.median(rates):,.0f} rows/s over {args.runs} "
        f"runs ({args.rows} rows in {args.files} objects, MaxPayloadInMB {args.max_payload_mb}, "
        f"capture {'on' if args.capture else 'off'})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Per-file test costs for the longest-first order of scripts/test.sh (tests_py/ordering.py).

Reads the report of a full run with its durations printed: a `.ci/run` log (scripts/test.sh
prints every duration of 0.5 s or more), or
`CI=true .venv/bin/pytest -n 2 --dist loadfile --durations=0 -q > durations.txt`; sums
setup + call + teardown per test file and writes tests_py/file_costs.csv (dearest first),
with a header line saying where the numbers came from.

Usage: .venv/bin/python scripts/test_file_costs.py durations.txt --source "what run, when, load"
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "tests_py" / "file_costs.csv"
# a line of pytest's slowest-durations table: "12.34s call     tests_py/test_x.py::test_y[1]"
DURATION = re.compile(r"^(\d+(?:\.\d+)?)s\s+(setup|call|teardown)\s+(\S+?\.py)::")


def file_costs(lines: list[str]) -> Counter[str]:
    """Seconds per test file: every setup, call and teardown line of the durations table."""
    costs: Counter[str] = Counter()
    for line in lines:
        found = DURATION.match(line.strip())
        if found:
            costs[found.group(3)] += float(found.group(1))
    return costs


def render(costs: Counter[str], source: str) -> str:
    rows = [f"# seconds per test file (setup + call + teardown), from {source}", "file,seconds"]
    rows += [f"{name},{seconds:.1f}" for name, seconds in costs.most_common()]
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("durations", type=Path, help="pytest output of a run with --durations=0")
    parser.add_argument("--source", required=True, help="the run the numbers come from")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not args.durations.is_file():
        print(f"error: {args.durations}: no such file", file=sys.stderr)
        return 2
    costs = file_costs(args.durations.read_text(errors="replace").splitlines())
    if not costs:
        print(f"error: {args.durations}: no durations table (run pytest with --durations=0)", file=sys.stderr)
        return 2
    args.out.write_text(render(costs, args.source))
    print(f"{args.out}: {len(costs)} files, {sum(costs.values()):.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

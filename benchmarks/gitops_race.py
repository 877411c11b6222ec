"""Two merges in a row through the GitHub Action's own scripts (tests/gitops/race.py): how many
ChileMedido measurements and SEC tariff creates reached the shared sandbox, how many were
duplicates, and the exit code of `plan --detailed-exitcode` on the branch tip afterwards.

    python benchmarks/gitops_race.py                 # this action.yml
    python benchmarks/gitops_race.py --action OLD    # another action.yml (e.g. `git show REV:action.yml`)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.gitops.action_runner import ACTION  # noqa: E402
from tests.gitops.race import race  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--action", type=Path, default=ACTION, help="the action.yml to run")
    args = parser.parse_args()
    print(f"action: {args.action}")
    print(f"{'platform':<12} {'order':<13} {'sent':>6} {'distinct':>9} {'duplicates':>11} {'stored':>7} "
          f"{'job A':>6} {'job B':>6} {'final plan':>11}")
    for kind, what in (("medido", "measurements"), ("chile", "SEC tariff creates")):
        for interleaved in (False, True):
            with tempfile.TemporaryDirectory(prefix="reconciler-race-") as tmp:
                fig = race(kind, Path(tmp), interleaved=interleaved, action_file=args.action)
            order = "interleaved" if interleaved else "back-to-back"
            print(f"{kind:<12} {order:<13} {fig.sent:>6} {fig.distinct:>9} {fig.duplicates:>11} {fig.stored:>7} "
                  f"{fig.runs[0].code:>6} {fig.runs[1].code:>6} {fig.final_plan:>11}   ({what})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

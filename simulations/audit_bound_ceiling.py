"""The most the one-run bound can certify: m canaries, r guesses, all of them right.

For the black-box audit (fedflm/audit/empirical) this is how many perfectly identified canaries
a bound of a given size needs, at the run's delta, with the audit's four Bonferroni candidates
(one_run.default_candidates) or one fixed k.

    python simulations/audit_bound_ceiling.py                 # m 500 1000, r 10..200, delta 1e-5, 95 %
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--canaries", type=int, nargs="+", default=[500, 1000])
    parser.add_argument("--guesses", type=int, nargs="+", default=[10, 20, 30, 40, 50, 100, 200])
    parser.add_argument("--delta", type=float, default=1e-5)
    parser.add_argument("--confidence", type=float, default=0.95)
    args = parser.parse_args(argv)

    from fedflm.audit.bounds.one_run import default_candidates, epsilon_lower_bound

    print(f"{'m':>6} {'r = v':>6} {'one k':>7} {'best of 4':>10}   (eps lower bound, delta {args.delta:g}, "
          f"{100 * args.confidence:g} %)")
    for m in args.canaries:
        n = len(default_candidates(m))
        for r in (r for r in args.guesses if r <= m):
            one = epsilon_lower_bound(m, r, r, args.delta, args.confidence)
            bonf = epsilon_lower_bound(m, r, r, args.delta, 1 - (1 - args.confidence) / n)
            print(f"{m:>6} {r:>6} {one:>7.3f} {bonf:>10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Set-up shared by the de-identification benchmarks (bench_deid.py, bench_deid_wnut.py).

Imported first, before fedflm: their throughput is records per CPU second of ONE core, so the math
libraries get one thread each (they read these variables when they are imported); the public-suffix
list of ``tldextract`` (used by Presidio's URL and e-mail recognizers) is never fetched; and the
repository root goes on ``sys.path`` so that ``python simulations/bench_deid*.py`` runs from a checkout.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

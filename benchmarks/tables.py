"""Reading a detector's probability table: the pyarrow reader behind
``as_trace`` / ``read_csv`` / ``--table`` against the line-by-line Python parser
it replaced. Prints seconds for N rows x 6 columns (a time column and five
propositions). Run: python -m benchmarks.tables [ROWS]"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from framelogic.logic.tables import read_table
from framelogic.logic.trace import parse_csv


def main(rows: int = 1_000_000) -> None:
    rng = np.random.default_rng(0)
    values = rng.random((rows, 5)).round(4)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "probs.csv"
        lines = ["time,a,b,c,d,e"] + [f"{i / 30:.4f}," + ",".join(map(str, r)) for i, r in enumerate(values)]
        path.write_text("\n".join(lines) + "\n")
        read_table(path.with_name("warm.csv")) if path.with_name("warm.csv").write_text("a\n1\n") else None  # imports
        t = time.perf_counter()
        fast = read_table(path)
        arrow = time.perf_counter() - t
        t = time.perf_counter()
        slow = parse_csv(path.read_text(), source=str(path))
        python = time.perf_counter() - t
    assert np.array_equal(fast.values, slow.values)
    print(f"{rows:,} rows x 6 columns: pyarrow reader {arrow:.2f} s, Python parser {python:.2f} s ({python / arrow:.0f}x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)

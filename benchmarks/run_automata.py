"""Automata benchmarks, side by side with the peers, in one process.

    python -m benchmarks.run_automata          # everything (several minutes)
    python -m benchmarks.run_automata --quick  # smaller sizes

Prints markdown tables. Peers: NSVS-TL's reasoning step (our implementation
from the paper, checked with stormpy), reelay and rtamt (their Python APIs).
Time is wall clock on one core (numba and numpy threads are pinned to one).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from framelogic.automata import Evaluator, Monitor, compile, evaluate, localize  # noqa: E402
from framelogic.logic import ast as A  # noqa: E402
from framelogic.logic import parse, size, to_text  # noqa: E402


def timed(fn, *args, repeat: int = 1, **kw):  # type: ignore[no-untyped-def]
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args, **kw)
        best = min(best, time.perf_counter() - t)
    return best, out


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def warm() -> None:
    """Compile the numba loops once so that timings exclude JIT latency."""
    rng = np.random.default_rng(0)
    n = 30_000
    for f in ["a U b", "H (a -> O[0,3] b)", "F (a & Y b)"]:
        evaluate(f, {"a": rng.random(n), "b": rng.random(n)})
        evaluate(f, {"a": (rng.random(n) > 0.5) * 1.0, "b": (rng.random(n) > 0.5) * 1.0})


# ---------------------------------------------------------------- 1. NSVS-TL
def bench_nsvs(quick: bool, budget: float) -> str:
    from benchmarks.baselines import nsvs_tl

    rng = np.random.default_rng(1)
    rows = []
    sizes = (200, 800) if quick else (200, 800, 3200)
    for k in (2, 3):
        names = [f"p{j}" for j in range(k)]
        for label, ours, theirs in [
            ('F "p1", event absent', 'F "p1"', 'F "p1"'),
            ('"p0" U "p1"', '"p0" U "p1"', '"p0" U "p1"'),
        ]:
            prev_t = None
            for n in sizes:
                probs = rng.random((n, k))
                probs[:, 1] *= 0.0004  # p1 never seen: the buffer keeps growing
                if "U" in label:
                    probs[:, 0] = 0.6 + 0.4 * probs[:, 0]
                table_ = {nm: probs[:, j] for j, nm in enumerate(names)}
                t_ours, _ = timed(localize, ours, table_, threshold=0.6, repeat=3)
                note = ""
                if prev_t is not None and prev_t * (n / prev_n) ** 2 > budget:
                    t_theirs = prev_t * (n / prev_n) ** 2
                    note = " (extrapolated ×(n/n')², over budget)"
                else:
                    t_theirs, _ = timed(nsvs_tl.search, theirs, names, probs, threshold=0.6, validator=False)
                prev_t, prev_n = t_theirs, n
                rows.append([
                    label, str(k), str(n), f"{t_theirs:.3f}{note}", f"{t_ours * 1e3:.2f}",
                    f"{t_theirs / t_ours:,.0f}×",
                ])  # fmt: skip
    return table(["workload", "k", "frames", "NSVS-TL + Storm (s)", "framelogic (ms)", "speed-up"], rows)


# ---------------------------------------------------------------- 2. boolean throughput
# (name, framelogic, reelay, rtamt); "{b}" marks the bound, "" where unbounded
PATTERNS = [
    ("absence", "H{b} !p", "historically{b}(!{{p}})", "historically{b}(not(p>0.5))"),
    ("universality", "H{b} p", "historically{b}{{p}}", "historically{b}(p>0.5)"),
    ("recurrence", "O{b} p", "once{b}{{p}}", "once{b}(p>0.5)"),
    ("response", "H (q -> O{b} p)", "historically({{q}} -> once{b}{{p}})", "historically((q>0.5) implies once{b}(p>0.5))"),
]


def bounded(pattern: str, b: int | None, kind: str) -> str:
    if b is None:
        return pattern.format(b="")
    window = {"ours": f"[0,{b}]", "reelay": f"[0:{b}]", "rtamt": f"[0,{b}]"}[kind]
    return pattern.format(b=window)


def bench_boolean(quick: bool) -> str:
    import reelay
    import rtamt

    n = 200_000 if quick else 1_000_000
    rng = np.random.default_rng(2)
    p = (rng.random(n) > 0.02).astype(float)
    q = (rng.random(n) > 0.9).astype(float)
    trace = {"p": p, "q": q}
    n_reelay, n_rtamt = 100_000, 10_000
    samples = [{"p": bool(p[i]), "q": bool(q[i])} for i in range(n_reelay)]
    rows = []
    for name, ours, rl, rt in PATTERNS:
        for b in (None, 10, 100, 1000):
            f, fr, ft = bounded(ours, b, "ours"), bounded(rl, b, "reelay"), bounded(rt, b, "rtamt")
            ev = Evaluator(f)
            t_ours, _ = timed(ev, trace)  # first call: compiles, then evaluates
            t_eval, _ = timed(ev, trace, repeat=2)  # compiled already
            t_compile = max(t_ours - t_eval, 0.0)
            mon = reelay.discrete_timed_monitor(pattern=fr)
            t0 = time.perf_counter()
            for smp in samples:
                mon.update(smp)
            t_reelay = (time.perf_counter() - t0) / n_reelay
            spec = rtamt.StlDiscreteTimeSpecification()
            spec.declare_var("p", "float")
            spec.declare_var("q", "float")
            spec.declare_var("out", "float")
            spec.spec = f"out = {ft}"
            spec.parse()
            t0 = time.perf_counter()
            for i in range(n_rtamt):
                spec.update(i, [("p", float(p[i])), ("q", float(q[i]))])
            t_rtamt = (time.perf_counter() - t0) / n_rtamt
            rate = n / t_ours
            rate_eval = n / t_eval
            rows.append([
                name, "∞" if b is None else str(b), f, f"{rate / 1e6:.1f}M", f"{rate_eval / 1e6:.1f}M", f"{t_compile * 1e3:.1f}",
                f"{1 / t_reelay / 1e3:.0f}k", f"{1 / t_rtamt / 1e3:.1f}k", f"{rate * t_reelay:,.0f}×",
                f"{rate * t_rtamt:,.0f}×",
            ])  # fmt: skip
    head = ["pattern", "bound", "formula", "framelogic frames/s", "excl. compile", "compile (ms)", "reelay samples/s",
            "rtamt samples/s", "vs reelay", "vs rtamt"]  # fmt: skip
    return table(head, rows) + f"\n\nframelogic: {n:,} frames (first column includes compilation); reelay: {n_reelay:,} samples; rtamt: {n_rtamt:,} samples."


# ---------------------------------------------------------------- 3. exact probabilities
def bench_probability(quick: bool) -> str:
    n = 200_000 if quick else 1_000_000
    rng = np.random.default_rng(3)
    cols = {c: rng.random(n) for c in "pqrs"}
    rows = []
    for label, f in [
        ("TLV F", 'F "p"'), ("TLV G", 'G "p"'), ("TLV &", ' "p" & "q"'), ("TLV U", '"p" U "q"'),
        ("TLV (&) U", '("p" & "q") U "r"'), ("4-atom response", "G (p -> F[0,30] (q & !r | s))"),
        ("past response", "H (p -> O[0,30] (q & !r | s))"),
        ("past inside future (marker pass)", "(p & O[0,5] q) U r"), ("response, bound 1000", "G (p -> F[0,1000] q)"),
    ]:  # fmt: skip
        ev = Evaluator(f)
        t, _ = timed(ev, cols)  # includes compilation
        t_eval, _ = timed(ev, cols, repeat=2)
        rate = n / t
        rows.append([label, f, f"{rate / 1e6:.2f}M", f"{n / t_eval / 1e6:.2f}M", "yes" if rate >= 1e6 else "no",
                     f"{ev.program(None).dfa.n_states}"])  # fmt: skip
    head = ["workload", "formula", "exact P frames/s", "excl. compile", "≥ 1M/s", "DFA states (evaluated)"]
    return table(head, rows) + f"\n\n{n:,} frames of independent per-frame probabilities."


# ---------------------------------------------------------------- 4. monitor latency
def bench_monitor() -> str:
    import reelay
    import rtamt

    rng = np.random.default_rng(4)
    n = 50_000
    bools = [{"red": float(rng.random() > 0.9), "stopped": float(rng.random() > 0.5)} for _ in range(n)]
    probs = [{"red": float(rng.random()), "stopped": float(rng.random())} for _ in range(n // 5)]
    rows = []
    for f, fr, ft in [
        ("G (red -> F[0,30] stopped)", None, None),
        ("H (stopped -> O[0,30] red)", "historically({stopped} -> once[0:30]{red})",
         "historically((stopped>0.5) implies once[0,30](red>0.5))"),
    ]:  # fmt: skip
        m = Monitor(f)
        t0 = time.perf_counter()
        for fr_ in bools:
            m.step(fr_)
        t_bool = (time.perf_counter() - t0) / n
        m.reset()
        t0 = time.perf_counter()
        for fr_ in probs:
            m.step(fr_)
        t_prob = (time.perf_counter() - t0) / len(probs)
        r_reelay = r_rtamt = ratio_reelay = ratio_rtamt = "n/a (future)"
        if fr:
            mon = reelay.discrete_timed_monitor(pattern=fr)
            samples = [{k: bool(v) for k, v in b.items()} for b in bools]
            t0 = time.perf_counter()
            for s in samples:
                mon.update(s)
            t_reelay = (time.perf_counter() - t0) / n
            r_reelay, ratio_reelay = f"{t_reelay * 1e6:.2f}", f"{t_reelay / t_bool:.2f}×"
            spec = rtamt.StlDiscreteTimeSpecification()
            for v in ("red", "stopped", "out"):
                spec.declare_var(v, "float")
            spec.spec = f"out = {ft}"
            spec.parse()
            t0 = time.perf_counter()
            for i, b in enumerate(bools[:5000]):
                spec.update(i, [("red", b["red"]), ("stopped", b["stopped"])])
            t_rtamt = (time.perf_counter() - t0) / 5000
            r_rtamt, ratio_rtamt = f"{t_rtamt * 1e6:.1f}", f"{t_rtamt / t_bool:.1f}×"
        rows.append([f, f"{t_bool * 1e6:.2f}", f"{t_prob * 1e6:.1f}", r_reelay, r_rtamt, ratio_reelay, ratio_rtamt])
    head = ["formula", "framelogic 0/1 (µs/frame)", "framelogic probabilities (µs/frame)", "reelay (µs/sample)",
            "rtamt (µs/sample)", "reelay / framelogic 0/1", "rtamt / framelogic 0/1"]  # fmt: skip
    return table(head, rows)


# ---------------------------------------------------------------- 5. compile times
def random_formula(rng: random.Random, target: int) -> A.Formula:
    atoms = [A.atom(x) for x in "abcd"]
    unary = [A.neg, A.X, lambda f: A.F(f), lambda f: A.G(f), lambda f: A.F(f, 0, rng.randint(1, 5))]
    binary = [A.conj, A.disj, lambda a, b: A.U(a, b), lambda a, b: A.R(a, b), A.implies]

    def go(budget: int) -> A.Formula:
        if budget <= 1:
            return rng.choice(atoms)
        if budget == 2 or rng.random() < 0.3:
            return rng.choice(unary)(go(budget - 1))
        left = rng.randint(1, budget - 2)
        return rng.choice(binary)(go(left), go(budget - 1 - left))

    return go(target)


def bench_compile() -> str:
    rows = []
    for label, f in [
        ("TLV F", 'F "p"'), ("TLV G", 'G "p"'), ("TLV &", ' "p" & "q"'), ("TLV U", '"p" U "q"'),
        ("TLV (&) U", '("p" & "q") U "r"'),
    ] + [(f"response B={b}", f"G (a -> F[0,{b}] b)") for b in (10, 100, 1000)]:  # fmt: skip
        g = parse(f)
        t, d = timed(compile, g, repeat=5)
        rows.append([label, to_text(g), f"{t * 1e3:.2f}", str(d.n_states)])
    rng = random.Random(5)
    for target in (10, 20, 40):
        ts, ns = [], []
        for _ in range(20):
            g = random_formula(rng, target)
            t, d = timed(compile, g)
            ts.append(t)
            ns.append(d.n_states)
        rows.append([f"random, size {target}", "(20 formulas)", f"median {statistics.median(ts) * 1e3:.2f}, max {max(ts) * 1e3:.1f}",
                     f"median {statistics.median(ns):.0f}, max {max(ns)}"])  # fmt: skip
    return table(["formula", "text", "compile (ms)", "minimal DFA states"], rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes")
    ap.add_argument("--budget", type=float, default=90.0, help="seconds one NSVS-TL run may take before extrapolating")
    args = ap.parse_args()
    print(f"# framelogic automata benchmarks\n\nmachine: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}; one core used\n")  # fmt: skip
    warm()
    for title, fn in [
        ("1. Event search vs NSVS-TL's reasoning step", lambda: bench_nsvs(args.quick, args.budget)),
        ("2. Boolean throughput (past-time patterns)", lambda: bench_boolean(args.quick)),
        ("3. Exact probability throughput", lambda: bench_probability(args.quick)),
        ("4. Monitor step latency", bench_monitor),
        ("5. Compile time and automaton size", bench_compile),
    ]:
        print(f"## {title}\n")
        print(fn())
        print(flush=True)


if __name__ == "__main__":
    main()

"""The driving-spec benchmark suite (issue 9): realistic multi-rule specs with
time bounds at several sampling rates, against the old monolithic-DFA engine,
reelay, rtamt and ltlf2dfa + MONA. Entry point: ``python -m benchmarks.run_suite``."""

"""``python -m benchmarks``: the automata benchmarks (perception and accuracy have their own)."""

from benchmarks.run_automata import main

main()

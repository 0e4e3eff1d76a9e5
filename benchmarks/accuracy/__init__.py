"""Accuracy benchmark in the form of the TLV dataset (NSVS-TL's benchmark).

    python -m benchmarks.accuracy [--quick]

Five templates with the TLV ground-truth rules, synthetic probability traces
under a documented noise model and the bundled model on rendered scenarios;
framelogic against NSVS-TL's reasoning step, per-frame thresholding and
LogSTOP-style product scores, all on identical probabilities.
"""

"""Accuracy benchmark in the form of the TLV dataset (NSVS-TL's benchmark).

    python -m benchmarks.accuracy [--quick] [--tlv DIR]

Modules: ``data`` (the five templates, TLV ground-truth rules, generators, the
noise model and its levels), ``methods`` (framelogic's match modes, NSVS-TL's
reasoning step, per-frame thresholding, LogSTOP-style scores, all on identical
probabilities), ``metrics`` (frame P/R/F1, event F1 at IoU >= 0.5), ``report``
(scoring over videos, the table), ``bench`` (synthetic, long and rendered
runs), ``tlv`` (the TLV dataset's pickles: loader, probability sources, runner).
"""

"""Zero-shot quality of a model on held-out rendered scenes.

    python -m framelogic.perception.quality [--model SPEC] [--frames N]

For every proposition of the renderer: AUROC of the raw prompt-vs-contrast
score, and expected calibration error before and after a Platt calibration
fitted on a separate set of frames.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .model import BUNDLED, load_encoder
from .render import PROPOSITIONS, dataset
from .scoring import Proposition, auroc, ece, fit_calibration, raw_scores

HELD_OUT_SEED = 777  # never used for training (training uses seeds < 100)


def evaluate_model(model: str = BUNDLED, *, frames: int = 1500, seed: int = HELD_OUT_SEED, device: str | None = "cpu") -> dict[str, dict[str, float]]:
    enc = load_encoder(model, device)
    test_img, _, test_y = dataset(frames, seed=seed)
    cal_img, _, cal_y = dataset(frames, seed=seed + 1)
    e_test, e_cal = enc.encode_images(test_img), enc.encode_images(cal_img)
    out = {}
    for j, (name, prompt) in enumerate(PROPOSITIONS.items()):
        p = Proposition(name, prompt)
        s_test, s_cal = raw_scores(enc, e_test, p), raw_scores(enc, e_cal, p)
        cal, _ = fit_calibration(s_cal, cal_y[:, j], kind="platt")
        out[name] = {
            "auroc": auroc(s_test, test_y[:, j]),
            "ece_raw": ece(s_test, test_y[:, j]),
            "ece_calibrated": ece(cal(s_test), test_y[:, j]),
            "positives": float(test_y[:, j].mean()),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=BUNDLED)
    ap.add_argument("--frames", type=int, default=1500)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--record", metavar="FILE", type=Path,
                    help="write the AUROCs to FILE, e.g. perception/assets/framelogic-tiny/quality.json of a source "
                    "checkout (never into the installed package)")
    args = ap.parse_args()
    res = evaluate_model(args.model, frames=args.frames)
    if args.record:
        record = {"frames": args.frames, "seed": HELD_OUT_SEED, "auroc": {k: round(v["auroc"], 4) for k, v in res.items()},
                  "ece_calibrated": {k: round(v["ece_calibrated"], 4) for k, v in res.items()}}  # fmt: skip
        from framelogic.logic.trace import atomic_write_text

        atomic_write_text(args.record, json.dumps(record, indent=1) + "\n")
    if args.json:
        print(json.dumps(res, indent=1))
        return
    print("| proposition | AUROC | ECE raw | ECE calibrated | positives |\n|---|---|---|---|---|")
    for k, v in res.items():
        print(f"| {k} | {v['auroc']:.3f} | {v['ece_raw']:.3f} | {v['ece_calibrated']:.3f} | {v['positives']:.2f} |")
    print(f"| mean | {np.mean([v['auroc'] for v in res.values()]):.3f} | {np.mean([v['ece_raw'] for v in res.values()]):.3f} | "
          f"{np.mean([v['ece_calibrated'] for v in res.values()]):.3f} | |")  # fmt: skip


if __name__ == "__main__":
    main()

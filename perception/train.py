"""Train the bundled ``framelogic-tiny`` model on rendered driving scenes.

    python -m framelogic.perception.train --seed 0 --out perception/assets/framelogic-tiny

An open_clip CLIP with small towers (ViT 64x64/8, 4 layers; text transformer 2
layers) learns from rendered frames and generated captions with the CLIP
contrastive loss, plus a prompt-alignment term: for every proposition, the
image's similarity to its prompt minus its similarity to the neutral contrast
prompt, as the logit of that proposition's truth (binary cross-entropy). That
second term trains exactly what framelogic reads out (positive vs contrast
prompt), so probabilities are meaningful from the start.

The output folder is an open_clip ``local-dir:`` model: ``open_clip_config.json``
and ``open_clip_model.safetensors`` (fp16).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

from .render import PROPOSITIONS, dataset

log = logging.getLogger(__name__)

CONTRAST = "a photo of a street"
MODEL_CFG = {
    "embed_dim": 96,
    "vision_cfg": {"image_size": 64, "layers": 4, "width": 128, "patch_size": 8, "head_width": 32, "mlp_ratio": 2.0},
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 96, "heads": 4, "layers": 2},
}
MEAN, STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
PREPROCESS_CFG = {"size": 64, "mean": list(MEAN), "std": list(STD), "resize_mode": "squash", "interpolation": "bilinear"}


def build_model():  # type: ignore[no-untyped-def]
    import open_clip

    return open_clip.model.CLIP(**MODEL_CFG)


def to_tensor(images: np.ndarray):  # type: ignore[no-untyped-def]
    import torch

    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255.0)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std


def save(model, out: Path) -> None:  # type: ignore[no-untyped-def]
    import torch
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    tmp = out / ".open_clip_model.safetensors.tmp"
    save_file(state, str(tmp))
    tmp.replace(out / "open_clip_model.safetensors")
    cfg = {"model_cfg": MODEL_CFG, "preprocess_cfg": PREPROCESS_CFG}
    (out / "open_clip_config.json").write_text(json.dumps(cfg, indent=1) + "\n")


def write_config(configs: Path) -> None:
    """The architecture in open_clip's model-config format (registered by name)."""
    configs.mkdir(parents=True, exist_ok=True)
    (configs / "framelogic-tiny.json").write_text(json.dumps(MODEL_CFG, indent=1) + "\n")


def train(out: Path, *, seed: int, n_train: int, epochs: int, batch: int, threads: int) -> dict:
    import open_clip
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    t0 = time.time()
    images, captions, labels = dataset(n_train, seed=seed)
    t_data = time.time() - t0
    tokenizer = open_clip.get_tokenizer("ViT-B-32", context_length=MODEL_CFG["text_cfg"]["context_length"])
    tokens = tokenizer(captions)
    prompt_tokens = tokenizer([*PROPOSITIONS.values(), CONTRAST])
    x_all = to_tensor(images)
    y_all = torch.from_numpy(labels.astype(np.float32))
    model = build_model()
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    steps = epochs * (n_train // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.1)
    clip_loss = open_clip.ClipLoss()
    rng = np.random.default_rng(seed)
    step = 0
    for epoch in range(epochs):
        order = rng.permutation(n_train)
        for b in range(n_train // batch):
            idx = torch.from_numpy(order[b * batch : (b + 1) * batch])
            img = model.encode_image(x_all[idx], normalize=True)
            txt = model.encode_text(tokens[idx], normalize=True)
            scale = model.logit_scale.exp()
            loss = clip_loss(img, txt, scale)
            prompts = model.encode_text(prompt_tokens, normalize=True)
            sims = img @ prompts.T * scale
            logits = sims[:, :-1] - sims[:, -1:]
            loss = loss + torch.nn.functional.binary_cross_entropy_with_logits(logits, y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, 4.6052)
            step += 1
            if step % 50 == 0:
                log.info("epoch %d step %d/%d loss %.3f (%.0fs)", epoch, step, steps, loss.item(), time.time() - t0)
    model.eval()
    save(model, out)
    return {"seed": seed, "train_frames": n_train, "epochs": epochs, "batch": batch, "steps": steps,
            "data_seconds": round(t_data, 1), "total_seconds": round(time.time() - t0, 1), "threads": threads}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description="train the bundled framelogic-tiny model on rendered scenes")
    ap.add_argument("--out", type=Path, required=True,
                    help="where to write the model, e.g. perception/assets/framelogic-tiny of a source checkout "
                    "(never into the installed package)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--frames", type=int, default=14_000)
    ap.add_argument("--epochs", type=int, default=7)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 leaves the other cores to others)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # a script: its progress lines on stderr
    write_config(args.out.parent / "configs")
    info = train(args.out, seed=args.seed, n_train=args.frames, epochs=args.epochs, batch=args.batch, threads=args.threads)
    (args.out / "training.json").write_text(json.dumps(info, indent=1) + "\n")
    print(json.dumps(info))


if __name__ == "__main__":
    main()

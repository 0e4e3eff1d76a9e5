"""open_clip loading by spec, on-device preprocessing, probabilities, calibration."""

import subprocess
import sys

import numpy as np
import pytest

from framelogic.logic.errors import InputError, InvalidValue
from framelogic.perception import scoring
from framelogic.perception.model import load_encoder, resolve_spec
from framelogic.perception.scoring import Calibration, Proposition, auroc, ece, fit_calibration, probabilities


def test_import_is_lazy():
    code = "import sys, framelogic.perception; sys.exit('torch' in sys.modules or 'cv2' in sys.modules or 'open_clip' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_specs():
    assert resolve_spec("ViT-B-32:laion2b_s34b_b79k") == ("ViT-B-32", "laion2b_s34b_b79k")
    assert resolve_spec("ViT-B-32") == ("ViT-B-32", None)
    assert resolve_spec("hf-hub:org/name") == ("hf-hub:org/name", None)
    assert resolve_spec("local-dir:/x") == ("local-dir:/x", None)
    name, weights = resolve_spec("framelogic-tiny")
    assert name.startswith("local-dir:") and name.endswith("framelogic-tiny") and weights is None
    with pytest.raises(InvalidValue):
        resolve_spec("")


def test_load_by_local_dir_and_by_checkpoint_path(tiny_model_dir, frames):
    a = load_encoder(f"local-dir:{tiny_model_dir}", "cpu")
    b = load_encoder(f"framelogic-tiny:{tiny_model_dir / 'open_clip_model.safetensors'}", "cpu")
    ea, eb = a.encode_images(frames), b.encode_images(frames)
    assert ea.shape == (12, 96) and ea.dtype == np.float32
    assert np.allclose(np.linalg.norm(ea, axis=1), 1, atol=1e-4)
    assert np.allclose(ea, eb, atol=1e-5)  # the same weights either way
    assert a.device == "cpu" and a.image_size == (64, 64) and a.resize_mode == "squash"
    t1 = a.encode_texts(["a red traffic light", "a street"])
    assert t1.shape == (2, 96) and np.array_equal(a.encode_texts(["a street"])[0], t1[1])


def test_bad_model_specs():
    with pytest.raises(InputError, match="no such folder"):
        load_encoder("local-dir:/nonexistent/model", "cpu")
    with pytest.raises(InputError, match="no such checkpoint"):
        load_encoder("framelogic-tiny:/nonexistent/w.safetensors", "cpu")
    with pytest.raises(InputError, match="cannot load model"):
        load_encoder("NoSuchArch-99", "cpu")


def test_probabilities_are_per_proposition(tiny_model_dir, frames):
    enc = load_encoder(f"local-dir:{tiny_model_dir}", "cpu")
    emb = enc.encode_images(frames)
    one = [Proposition("red", "a red traffic light")]
    two = one + [Proposition("ped", ("a pedestrian", "a person walking"), contrast="an empty road")]
    p1, p2 = probabilities(enc, emb, one), probabilities(enc, emb, two)
    assert p2.shape == (12, 2) and np.all((p2 > 0) & (p2 < 1))
    assert np.array_equal(p1[:, 0], p2[:, 0])  # no softmax across propositions
    templ = Proposition("red", "red light", templates=("a photo of a {}", "a dashcam image of a {}"))
    assert templ.texts()[0] == ["a photo of a red light", "a dashcam image of a red light"]


def test_preprocessing_shortest_side_and_crop(tiny_model_dir):
    enc = load_encoder(f"local-dir:{tiny_model_dir}", "cpu")
    from dataclasses import replace

    crop = replace(enc, resize_mode="shortest")
    x = crop.preprocess(np.zeros((2, 90, 160, 3), np.uint8))
    assert tuple(x.shape) == (2, 3, 64, 64)


def test_calibration_platt_and_isotonic(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.random(3000) < 0.3
    s = np.clip(np.where(y, 0.65, 0.55) + rng.normal(0, 0.05, 3000), 0, 1)  # well ranked, badly calibrated
    cal, rep = fit_calibration(s[:500], y[:500])
    assert cal.kind == "platt" and rep["ece_after"] < rep["ece_before"] / 3
    assert rep["auroc_after"] == pytest.approx(rep["auroc_before"])
    iso, rep2 = fit_calibration(s, y)
    assert iso.kind == "isotonic" and rep2["ece_after"] < 0.02
    p = iso(np.sort(s))
    assert np.all(np.diff(p) >= -1e-12) and p.min() >= scoring.EPS
    cal.save(tmp_path / "c.json")
    assert Calibration.load(tmp_path / "c.json") == cal
    with pytest.raises(InvalidValue):
        fit_calibration(s[:10], np.zeros(10))
    with pytest.raises(InputError):
        Calibration.load(tmp_path / "missing.json")


def test_metrics():
    assert auroc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == 0.75
    assert auroc(np.array([0.5, 0.5]), np.array([0, 1])) == 0.5
    assert ece(np.array([0.9, 0.9, 0.1, 0.1]), np.array([1, 1, 0, 0])) == pytest.approx(0.1)


def test_scorer_registry(tmp_path, frames):
    assert scoring.list_scorers() == ["clip", "table"]
    (tmp_path / "t.csv").write_text("red,ped\n0.1,0.9\n0.2,0.8\n")
    table = scoring.create_scorer("table", path=str(tmp_path / "t.csv"))
    assert table(None, [Proposition("ped")])["ped"].tolist() == [0.9, 0.8]
    fn = scoring.create_scorer(lambda fr: {"bright": fr.mean(axis=(1, 2, 3)) / 255})
    assert fn(frames, [Proposition("bright")])["bright"].shape == (12,)
    with pytest.raises(InvalidValue, match="unknown"):
        scoring.create_scorer("yolo")
    with pytest.raises(Exception, match="bad config"):
        scoring.create_scorer("clip", modle="x")


def test_load_by_bare_checkpoint_path(tiny_model_dir, frames, tmp_path):
    import shutil

    a = load_encoder(f"local-dir:{tiny_model_dir}", "cpu")
    weights = tiny_model_dir / "open_clip_model.safetensors"
    c = load_encoder(str(weights), "cpu")  # open_clip_config.json lies next to it
    assert np.allclose(a.encode_images(frames), c.encode_images(frames), atol=1e-5)
    lonely = tmp_path / "w.safetensors"
    shutil.copy(weights, lonely)
    with pytest.raises(InputError, match="ARCH:PATH"):
        load_encoder(str(lonely), "cpu")


def test_devices_and_precisions(tiny_model_dir, frames):
    import torch

    from framelogic.perception.model import pick_device

    assert pick_device(None) == ("cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu")
    assert pick_device("cpu") == "cpu"
    with pytest.raises(InvalidValue, match="device='tpu'"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(InvalidValue, match="not available"):
            load_encoder(f"local-dir:{tiny_model_dir}", "cuda")
    with pytest.raises(InvalidValue, match="precision"):
        load_encoder(f"local-dir:{tiny_model_dir}", "cpu", "fp8")
    with pytest.raises(InvalidValue, match="GPUs"):
        load_encoder(f"local-dir:{tiny_model_dir}", "cpu", "fp16")
    bf = load_encoder(f"local-dir:{tiny_model_dir}", "cpu", "bf16")
    assert bf.dtype == torch.bfloat16 and bf.preprocessing != load_encoder(f"local-dir:{tiny_model_dir}", "cpu").preprocessing
    emb = bf.encode_images(frames)
    assert emb.dtype == np.float32 and emb.shape == (12, 96)
    full = load_encoder(f"local-dir:{tiny_model_dir}", "cpu").encode_images(frames)
    assert np.abs((emb * full).sum(axis=1) - 1).max() < 0.05  # bf16 is close to fp32


def test_out_of_memory_halves_the_batch_and_continues(tiny_model_dir, frames, monkeypatch):
    import torch

    from framelogic.perception.model import load_encoder as load

    enc = load.__wrapped__(f"local-dir:{tiny_model_dir}", "cpu")  # a private copy: the cap is per encoder
    expected = enc.encode_images(frames, 12)
    real = enc.model.encode_image
    sizes = []

    def small_memory(x):
        sizes.append(len(x))
        if len(x) > 3:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(x)

    monkeypatch.setattr(enc.model, "encode_image", small_memory)
    got = enc.encode_images(frames, 12)
    assert np.allclose(got, expected, atol=1e-5)
    assert sizes[:3] == [12, 6, 3] and max(sizes[3:]) == 3
    sizes.clear()
    enc.encode_images(frames, 12)  # the next call starts at the size that fitted
    assert sizes[0] == 3

    def no_memory(x):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(enc.model, "encode_image", no_memory)
    with pytest.raises(InputError, match="out of GPU memory"):
        enc.encode_images(frames, 4)


def test_fit_calibration_from_embeddings_and_frames(tiny_model_dir, frames):
    enc = load_encoder(f"local-dir:{tiny_model_dir}", "cpu")
    emb = enc.encode_images(frames)
    prop = Proposition("red", "a red traffic light")
    labels = np.arange(12) % 2 == 0
    cal_s, rep_s = fit_calibration(scoring.raw_scores(enc, emb, prop), labels)
    cal_e, rep_e = fit_calibration(emb, labels, proposition=prop, model=enc)
    cal_f, _ = fit_calibration(frames, labels, proposition="a red traffic light", model=enc)
    assert cal_s == cal_e and cal_e.kind == "platt"
    assert cal_f.a == pytest.approx(cal_e.a, rel=1e-4) and set(rep_e) >= {"ece_before", "ece_after", "auroc_before", "auroc_after"}
    with pytest.raises(InvalidArgument := __import__("framelogic.logic.errors", fromlist=["x"]).InvalidArgument, match="proposition"):
        fit_calibration(emb, labels)
    with pytest.raises(InvalidValue, match="shape"):
        fit_calibration(np.zeros((2, 2, 2)), labels[:2])


def test_proposition_validation():
    from framelogic.logic.errors import InvalidArgument

    p = Proposition("ped", ["a pedestrian", "a person walking"], contrast="an empty road")
    assert p.prompts == ("a pedestrian", "a person walking") and p.contrast == ("an empty road",)
    assert Proposition("car").texts() == (["car"], [scoring.DEFAULT_CONTRAST])
    with pytest.raises(InvalidArgument):
        Proposition("")
    with pytest.raises(InvalidArgument):
        Proposition("x", prompts=("ok", 3))
    with pytest.raises(InvalidValue, match="smoothing"):
        Proposition("x", smoothing=-1)
    with pytest.raises(InvalidValue, match="unique"):
        scoring.as_propositions([Proposition("a"), Proposition("a", "other")])


def test_smoothing_is_off_by_default_and_local(tiny_model_dir, frames):
    enc = load_encoder(f"local-dir:{tiny_model_dir}", "cpu")
    emb = enc.encode_images(frames)
    raw = probabilities(enc, emb, [Proposition("r", "a red traffic light")])[:, 0]
    sm = probabilities(enc, emb, [Proposition("r", "a red traffic light", smoothing=3)])[:, 0]
    assert np.allclose(sm[1:-1], (raw[:-2] + raw[1:-1] + raw[2:]) / 3)
    assert not np.allclose(sm, raw)

import numpy as np
import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A random-init open_clip model with the bundled architecture, saved as local-dir."""
    import torch

    from framelogic.perception import train

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny-random")
    train.save(train.build_model().eval(), out)
    return out


@pytest.fixture(scope="session")
def scenario_video(tmp_path_factory):
    from framelogic.perception.render import write_scenario

    path = tmp_path_factory.mktemp("videos") / "red_light_stop.mp4"
    labels = write_scenario(path, "red_light_stop", fps=10, seconds=4.0)
    return path, labels


@pytest.fixture
def frames():
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (12, 48, 64, 3), dtype=np.uint8)

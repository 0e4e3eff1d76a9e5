"""framelogic.perception: frames to calibrated per-frame proposition probabilities."""

"""Training: the generic loop, learning-rate schedule, pre-training, proxy-task baselines, DDP helpers."""

"""MuJo Studio: multimodal joint feature space learning for human activity recognition."""

__version__ = "0.1.0"

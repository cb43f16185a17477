"""Real target datasets (one module each) on a small common base."""

"""Synthetic workout motion: body model, exercise library, workout composition and pose-estimator noise."""

"""Data foundation: skeleton, virtual IMU, synthetic FiMAD, renderer, FiMAD reader/writer, windows."""

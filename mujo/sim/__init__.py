"""The virtual IMU simulator: sensor readings from a 17-joint pose, for synthetic and real poses alike."""

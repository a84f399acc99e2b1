"""Per-face recognition stages: crops, landmarks, descriptors, attributes (alignment, yaw, verification later)."""

"""Image view and the overlays drawn on it."""

"""Pieces of the Training panel: the training job, run history and the AP plot."""

"""Detection pre/post-processing, decoding, NMS and scale-branch assignment."""

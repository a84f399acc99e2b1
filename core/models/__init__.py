"""Neural networks only (nn.Modules): no pre/post-processing, no file I/O."""

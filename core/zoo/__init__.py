"""Model zoo: bundled weight files, their loaders and the converters that made them."""

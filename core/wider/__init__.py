"""WIDER FACE: label files, eval_tools ``.mat`` ground truth, dataset index,
prediction files and the official evaluation protocol (see docs/adr/0006).

Submodules are imported directly (``from core.wider.predictions import ...``);
this package file stays empty so that importing one part never pulls the rest.
"""

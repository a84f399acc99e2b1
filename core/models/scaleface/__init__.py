"""ScaleFace (Yang et al., arXiv 1706.02863) as one package, torchvision-style: the network
(:mod:`~core.models.scaleface.model`), its per-branch anchors and RPN targets
(:mod:`~core.models.scaleface.anchors`), its losses with OHEM
(:mod:`~core.models.scaleface.loss`) and its post-processing
(:mod:`~core.models.scaleface.postprocess`). Weights are loaded by
:mod:`core.detect.scaleface`, never here.
"""

"""Training ScaleFace on the engine in :mod:`core.train`: the task
(:mod:`~core.detect.training.scaleface_task`), its data and augmentation
(:mod:`~core.detect.training.data`, :mod:`~core.detect.training.synthetic`) and the
WIDER evaluation at checkpoints (:mod:`~core.detect.training.eval_hook`).
"""

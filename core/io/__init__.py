"""Reading what users point FaceScope at: images (:mod:`~core.io.imageio`), file lists
(:mod:`~core.io.files`) and video (:mod:`core.io.video`): camera, file or image-sequence
readers, a threaded newest-frame-wins source, rate meters.
"""

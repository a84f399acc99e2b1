"""FaceScope workbench (PySide6). Views only: all computation goes through core/ in workers."""

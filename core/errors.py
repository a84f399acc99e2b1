"""The root of every error FaceScope raises on purpose.

Callers decide how to report a failure from its type alone:

* :class:`UserError` — the user's input is at fault (a bad or corrupt file, a
  malformed label, prediction or configuration file, a missing data folder, an
  invalid option, a tampered template, a checkpoint that is not one). The
  message is a sentence fit for the user; a traceback would only add noise.
  The command line exits with code 2, the workbench shows a plain message.
* any other :class:`FaceScopeError` — the engine refused to go on for a reason
  of its own (a bundled weight file missing or corrupt, a training run whose
  loss became NaN ...). The command line
  exits with code 1, the workbench shows the traceback.
* anything else is a bug and keeps its traceback.

Classes keep the built-in base they had before the root existed (``ValueError``,
``RuntimeError`` ...), so ``except ValueError`` callers are unaffected. This
module imports nothing heavy: the GUI checks these types without loading torch.
"""

from __future__ import annotations


class FaceScopeError(Exception):
    """Any error FaceScope raises on purpose; ``str(exc)`` says what went wrong."""


class UserError(FaceScopeError):
    """The user's input is at fault; ``str(exc)`` is a sentence fit for the user (no traceback)."""


class FormatError(UserError):
    """A file the user gave is malformed; subclasses keep ``path`` (and ``line``) where they know it."""

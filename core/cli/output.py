"""JSON output shared by the sub-commands: ``--json FILE`` or ``--json -`` for stdout."""

from __future__ import annotations

import json
import sys
from typing import Any

from core.atomic import write_text_atomic


def emit_json(payload: Any, target: str | None, indent: int = 1) -> bool:
    """Write ``payload`` as JSON to ``target`` (a path, ``"-"`` for stdout, ``None`` for nowhere).

    Files are written atomically, so an interrupted run never leaves half a
    document where the previous one was. Returns ``True`` when the JSON went
    to stdout: the caller then prints nothing else there, keeping it parseable.
    """
    if target is None or target == "":
        return False
    text = json.dumps(payload, indent=indent) + "\n"
    if target == "-":
        sys.stdout.write(text)
        return True
    write_text_atomic(target, text, fsync=False)
    return False

"""FaceScope entry point: no arguments → the workbench; a sub-command → the CLI."""

from __future__ import annotations

import os
import sys

# Idle OpenMP threads sleep instead of spinning: inference runs in worker threads next to the GUI
# and other processes, and spinning threads starved them (bench/detect.py: CenterFace 640x480
# 95 ms passive vs 580 ms spinning on a loaded 2-core machine). Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and not args[0].startswith("-"):
        from core.cli import run_cli

        return run_cli(args)
    from app.application import run_gui

    return run_gui(args)


if __name__ == "__main__":
    sys.exit(main())

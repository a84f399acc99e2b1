"""FaceScope entry point: no arguments → the workbench; a sub-command → the CLI."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and not args[0].startswith("-"):
        from core.cli import run_cli

        return run_cli(args)
    from app.application import run_gui

    return run_gui(args)


if __name__ == "__main__":
    sys.exit(main())

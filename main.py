"""FaceScope entry point: no arguments or paths → the workbench; a sub-command name → the CLI.

A first word that is a command of ``core.cli`` goes to the command line; anything
else is the workbench's (options and the images or folders to open). A word that
is neither a command nor an existing file or folder is refused with the list of
commands, so a typo never opens an empty window or reads as a Python traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

# Idle OpenMP threads sleep instead of spinning: inference runs in worker threads next to the GUI
# and other processes, and spinning threads starved them (bench/detect.py: CenterFace 640x480
# 95 ms passive vs 580 ms spinning on a loaded 2-core machine). Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Options of the workbench and of the command line that take a value: that value is not a word.
OPTIONS_WITH_VALUE = frozenset({"--settings", "--log-level"})
USAGE_ERROR = 2


def words(args: list[str]) -> Iterator[str]:
    """The arguments that are neither options nor an option's value, in order."""
    takes_value = False
    for arg in args:
        if takes_value:
            takes_value = False
        elif arg.startswith("-") and arg != "-":
            takes_value = arg in OPTIONS_WITH_VALUE
        else:
            yield arg


def commands_help(commands: Mapping[str, tuple[str, str]]) -> str:
    """The commands and their one-line help, laid out as argparse lays out its own sections."""
    width = max(len(name) for name in commands) + 2
    lines = ["commands (facescope <command> --help shows a command's options):"]
    lines += [f"  {name:<{width}}{help_text}" for name, (_module, help_text) in commands.items()]
    return "\n".join(lines)


def not_found_message(word: str, commands: Mapping[str, tuple[str, str]]) -> str:
    return (
        f"facescope: {word!r} is neither a command nor an existing file or folder.\n"
        f"commands: {', '.join(commands)}\n"
        "facescope --help lists them with the workbench's options."
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # lazy: after OMP_WAIT_POLICY is set; the command table imports no engine module
    from core.cli import COMMANDS

    given = list(words(args))
    if given and given[0] in COMMANDS:
        # lazy: a command parses its arguments before it loads the engine
        from core.cli import run_cli

        return run_cli(args)
    missing = next((word for word in given if not Path(word).exists()), None)
    if missing is not None:
        sys.stderr.write(not_found_message(missing, COMMANDS) + "\n")
        return USAGE_ERROR
    # lazy: `--help` and the CLI never import Qt or the window
    from app.application import run_gui

    return run_gui(args, epilog=commands_help(COMMANDS))


if __name__ == "__main__":
    sys.exit(main())

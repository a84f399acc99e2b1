"""Command-line interface: ``python main.py <command> ...``.

Each sub-command lives in its own module under ``core/cli/`` exposing
``add_arguments(parser)`` and ``run(args) -> int`` (the process exit code).
Commands never call ``sys.exit`` themselves and print results to stdout (JSON
where asked); diagnostics go through ``logging`` to stderr.

Exit codes: 0 success; 2 when a :class:`~core.errors.UserError` escapes a
command (bad input: the message goes to stderr, no traceback); 1 for any
other :class:`~core.errors.FaceScopeError` (message, no traceback); anything
else is a bug and propagates with its traceback. A command may still catch an
error itself where it has long used another code (a missing weight file exits
1) or another message.
"""

from __future__ import annotations

import argparse
import importlib
import logging

from core.errors import FaceScopeError, UserError

log = logging.getLogger(__name__)

# command name -> (module under core.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "detect": ("core.cli.detect", "detect faces in images and folders"),
    "train": ("core.cli.train", "train a model (scaleface ...); torchrun for multi-GPU"),
    "wider-eval": ("core.cli.wider_eval", "evaluate a WIDER FACE prediction folder (official protocol)"),
    "cfp-eval": ("core.cli.cfp_eval", "CFP frontal/profile verification per fold (stem or stem + DREAM)"),
    "verify": ("core.cli.verify", "are two face images the same person? (yaw, DREAM, calibrated threshold)"),
    "verify-pairs": ("core.cli.verify_pairs", "score a CSV of image pairs; EER/AUC/TAR when labelled"),
    "attributes": ("core.cli.attributes", "40 CelebA attributes of every detected face (LMLE)"),
    "attributes-eval": (
        "core.cli.attributes_eval",
        "score an attribute model on CelebA (accuracy, balanced acc.)",
    ),
    "unlock": (
        "core.cli.unlock",
        "face unlock from a video: enrol, verify (calibrated FAR), list/rename/delete",
    ),
}


def chosen_command(argv: list[str]) -> str | None:
    """The command ``argv`` names (after the global ``--log-level``), or ``None`` (help, a typo)."""
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--log-level":
            i += 2
        elif token.startswith("--log-level="):
            i += 1
        else:
            return token if token in COMMANDS else None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of ``only`` (a command's modules load when it runs: a
    command's start then imports nothing the other commands need)."""
    # no prefix matching: "--mode" must never be read as "--model"
    parser = argparse.ArgumentParser(
        prog="facescope", description="FaceScope engine command line", allow_abbrev=False
    )
    parser.add_argument("--log-level", default="WARNING", help="logging level (DEBUG, INFO, WARNING ...)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        if only is not None and name != only:
            continue
        module = importlib.import_module(module_name)
        command_parser = sub.add_parser(name, help=help_text, description=help_text, allow_abbrev=False)
        module.add_arguments(command_parser)
        command_parser.set_defaults(_module=module)
    return parser


def run_cli(argv: list[str]) -> int:
    parser = build_parser(only=chosen_command(argv))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.WARNING),
        format="%(levelname)s %(name)s: %(message)s",
    )
    command_log = logging.getLogger(args._module.__name__)  # as if the command had logged it
    try:
        return int(args._module.run(args))
    except UserError as exc:
        command_log.error("%s", exc)
        return 2
    except FaceScopeError as exc:
        command_log.error("%s", exc)
        return 1

"""``main.py``: paths open the workbench, command names go to the CLI, ``--help`` lists both, typos exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import main
from core.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def gui_argv(monkeypatch):
    """Capture what would open the workbench instead of opening it."""
    import app.application

    calls: list[list[str]] = []

    def fake_run_gui(argv, epilog=""):
        calls.append(list(argv))
        return 0

    monkeypatch.setattr(app.application, "run_gui", fake_run_gui)
    return calls


@pytest.fixture
def cli_argv(monkeypatch):
    import core.cli

    calls: list[list[str]] = []
    monkeypatch.setattr(core.cli, "run_cli", lambda argv: calls.append(list(argv)) or 0)
    return calls


def test_a_folder_opens_the_workbench(tmp_path, gui_argv, cli_argv):
    assert main.main([str(tmp_path)]) == 0
    assert gui_argv == [[str(tmp_path)]] and cli_argv == []


def test_several_paths_and_options_open_the_workbench(tmp_path, gui_argv, cli_argv):
    image = tmp_path / "a.jpg"
    image.write_bytes(b"")
    argv = ["--settings", str(tmp_path / "s.ini"), str(image), str(tmp_path)]
    assert main.main(argv) == 0
    assert gui_argv == [argv] and cli_argv == []


def test_a_command_name_goes_to_the_cli(gui_argv, cli_argv):
    assert main.main(["wider-eval", "--pred", "p", "--gt", "g"]) == 0
    assert main.main(["--log-level", "INFO", "detect", "x.jpg"]) == 0
    assert cli_argv == [
        ["wider-eval", "--pred", "p", "--gt", "g"],
        ["--log-level", "INFO", "detect", "x.jpg"],
    ]
    assert gui_argv == []


@pytest.mark.parametrize("argv", [["detetc"], ["no/such/folder"]])
def test_neither_command_nor_path_exits_2_listing_the_commands(argv, gui_argv, cli_argv, capsys):
    assert main.main(argv) == 2
    err = capsys.readouterr().err
    assert f"{argv[0]!r} is neither a command nor an existing file or folder" in err
    assert all(name in err for name in COMMANDS)
    assert "Traceback" not in err
    assert gui_argv == [] and cli_argv == []


def test_a_missing_second_path_is_refused(tmp_path, gui_argv, capsys):
    assert main.main([str(tmp_path), str(tmp_path / "gone.jpg")]) == 2
    assert "gone.jpg" in capsys.readouterr().err
    assert gui_argv == []


HELP_SCRIPT = """
import sys
import main
try:
    main.main(["--help"])
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in ("torch", "PySide6", "numpy") if m in sys.modules)
print("EXIT:", code)
print("HEAVY:" + ",".join(heavy))
"""


def test_help_lists_the_workbench_options_and_every_command_without_heavy_imports(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(
        [sys.executable, "-c", HELP_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "EXIT: 0" in out.stdout
    assert "--settings" in out.stdout and "paths" in out.stdout
    for name, (_module, help_text) in COMMANDS.items():
        assert any(line.split()[:1] == [name] and help_text in line for line in out.stdout.splitlines()), name
    assert "HEAVY:\n" in out.stdout, "--help imported " + out.stdout.split("HEAVY:")[1]


COMMAND_HELP_SCRIPT = """
import sys
from core.cli import COMMANDS, build_parser
parser = build_parser()
for name in COMMANDS:
    try:
        parser.parse_args([name, "--help"])
    except SystemExit:
        pass
print("TORCH:", "torch" in sys.modules)
"""


def _run_script(script: str) -> str:
    """``script``'s stdout, run by a fresh interpreter in the repository (it must exit 0)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_every_command_parses_its_arguments_before_torch_loads():
    assert "TORCH: False" in _run_script(COMMAND_HELP_SCRIPT), (
        "a command module imports torch at its top: defer it into run()"
    )


def test_options_are_never_matched_by_prefix(capsys):
    """A prefix of an option is an error, not that option: ``--mod`` is neither ``--mode`` nor ``--model``."""
    from core.cli import build_parser

    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["detect", "x.jpg", "--mod", "ssd"])
    assert exc.value.code == 2 and "--mod" in capsys.readouterr().err
    args = build_parser().parse_args(["detect", "x.jpg", "--mode", "accurate", "--model", "ssd"])
    assert (args.mode, args.model) == ("accurate", "ssd")


ONE_COMMAND_SCRIPT = """
import sys
from core.cli import run_cli
try:
    run_cli(["--log-level", "ERROR", "wider-eval", "--help"])
except SystemExit:
    pass
print("LOADED:", sorted(m for m in sys.modules if m.startswith(("core.detect", "core.cli.", "cv2", "torch"))))
"""


def test_a_command_loads_only_its_own_modules():
    """``wider-eval`` builds its own parser only: the detector, image and other commands' modules stay unloaded."""
    from core.cli import chosen_command

    assert chosen_command(["--log-level", "INFO", "wider-eval", "--pred", "p"]) == "wider-eval"
    assert chosen_command(["--log-level=INFO", "detect", "x.jpg"]) == "detect"
    assert (
        chosen_command(["--help"]) is None
        and chosen_command(["detekt"]) is None
        and chosen_command([]) is None
    )
    loaded = _run_script(ONE_COMMAND_SCRIPT)
    assert "LOADED: ['core.cli.wider_eval']" in loaded, loaded

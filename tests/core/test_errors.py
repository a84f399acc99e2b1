"""One error root: every exception class in core derives from FaceScopeError; the CLI exit code follows the type."""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil

import pytest

import core
import core.cli as cli
from core.errors import FaceScopeError, FormatError, UserError


def _core_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(core.__path__, prefix="core."))


def _exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in a core module (found by walking the package, not listed by hand)."""
    found = {}
    for name in _core_modules():
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def test_every_core_exception_derives_from_the_root():
    classes = _exception_classes()
    assert len(classes) >= 30, sorted(classes)  # the walk really reached the error modules
    # a private class (``_Interrupted``) is a control-flow signal caught in its own module, never reported
    strays = sorted(
        name
        for name, cls in classes.items()
        if not issubclass(cls, FaceScopeError) and not cls.__qualname__.startswith("_")
    )
    assert not strays, f"exception classes outside FaceScopeError: {strays}"


def test_the_walk_would_catch_a_class_without_the_root(monkeypatch):
    module = importlib.import_module("core.errors")

    class StrayError(ValueError):
        pass

    StrayError.__module__, StrayError.__qualname__ = module.__name__, "StrayError"
    monkeypatch.setattr(module, "StrayError", StrayError, raising=False)
    assert not issubclass(_exception_classes()["core.errors.StrayError"], FaceScopeError)


def test_classes_keep_their_builtin_bases():
    from core.train.config import ConfigError
    from core.train.errors import NonFiniteLossError, TrainError
    from core.wider.errors import WiderFormatError

    assert issubclass(WiderFormatError, FormatError) and issubclass(WiderFormatError, ValueError)
    assert issubclass(ConfigError, UserError) and issubclass(ConfigError, ValueError)
    assert issubclass(TrainError, RuntimeError)
    assert issubclass(NonFiniteLossError, FloatingPointError) and not issubclass(
        NonFiniteLossError, UserError
    )
    error = WiderFormatError("labels.txt", 3, "bad box")
    assert (error.path, error.line) == ("labels.txt", 3)


class _Raising:
    """A stand-in command module whose ``run`` raises what the test gives it."""

    __name__ = "core.cli.fake"

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        pass

    def run(self, args: argparse.Namespace) -> int:
        raise self.error


@pytest.fixture
def fake_command(monkeypatch):
    real_import = importlib.import_module

    def install(error: BaseException) -> None:
        fake = _Raising(error)
        monkeypatch.setitem(cli.COMMANDS, "fake", ("core.cli.fake", "raises on purpose"))
        monkeypatch.setattr(
            cli.importlib,
            "import_module",
            lambda name: fake if name == "core.cli.fake" else real_import(name),
        )

    return install


def test_cli_maps_a_user_error_to_exit_2_without_traceback(fake_command, caplog, capsys):
    fake_command(FormatError("labels.txt:3: four numbers expected"))
    assert cli.run_cli(["fake"]) == 2
    err = caplog.text + capsys.readouterr().err
    assert "labels.txt:3: four numbers expected" in err and "Traceback" not in err


def test_cli_maps_another_facescope_error_to_exit_1(fake_command, caplog, capsys):
    from core.train.errors import NonFiniteLossError

    fake_command(NonFiniteLossError(7, {"loss": float("nan")}))
    assert cli.run_cli(["fake"]) == 1
    err = caplog.text + capsys.readouterr().err
    assert "Traceback" not in err and str(NonFiniteLossError(7, {"loss": float("nan")})) in err


def test_cli_lets_a_bug_propagate(fake_command):
    fake_command(KeyError("bug"))
    with pytest.raises(KeyError):
        cli.run_cli(["fake"])

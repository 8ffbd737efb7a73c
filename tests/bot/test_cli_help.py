"""``sportbot`` explains itself: every option has a help line that shows its default, and a
command that needs a subcommand prints a usage naming them when given none."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from bot.cli import COMMANDS, build_parser, main


def parsers(
    parser: argparse.ArgumentParser,
) -> Iterator[argparse.ArgumentParser]:
    """``parser`` and every subcommand's parser under it, depth first."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from parsers(child)


def options() -> Iterator[tuple[str, argparse.Action]]:
    """(``prog``, action) for every argument of every command but ``-h`` and subcommand lists."""
    for parser in parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            yield parser.prog, action


def expanded_help(action: argparse.Action, prog: str) -> str:
    """The help line as ``--help`` shows it (``%(default)s`` filled in, as argparse does)."""
    assert action.help, f"{prog} {action.dest} has no help"
    return action.help % {**vars(action), "prog": prog}


def test_the_parser_has_the_commands_and_options_this_test_walks() -> None:
    progs = {parser.prog for parser in parsers(build_parser())}
    assert {f"sportbot {command}" for command in COMMANDS} <= progs
    assert {"sportbot models list", "sportbot models promote", "sportbot models rollback"} <= progs
    walked = {(prog, action.dest) for prog, action in options()}
    assert ("sportbot fine-tune", "n_epochs") in walked
    assert ("sportbot serve", "port") in walked
    assert len(walked) >= 25


@pytest.mark.parametrize(("prog", "action"), list(options()), ids=lambda v: getattr(v, "dest", v))
def test_every_option_has_a_help_line_that_shows_its_default(
    prog: str, action: argparse.Action
) -> None:
    text = expanded_help(action, prog)
    assert text.strip(), f"{prog} {action.dest}: empty help"
    if not action.option_strings:  # a positional: said what it is
        return
    name = "/".join(action.option_strings)
    if action.required:
        assert "(required)" in text, f"{prog} {name}: say it is required"
    elif action.nargs == 0:  # a flag
        assert "(default: off" in text, f"{prog} {name}: say the flag is off by default"
    elif action.default is not None:
        assert f"default: {action.default}" in text, f"{prog} {name}: show {action.default!r}"
    else:  # no value by default: say what leaving it out means
        assert "default: " in text, f"{prog} {name}: say what happens without it"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_help_renders_with_its_defaults(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args([command, "--help"])
    assert stop.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())  # as one line: help wraps anywhere
    assert shown.startswith(f"usage: sportbot {command}")
    assert "%(" not in shown
    if command == "serve":
        assert "(default: 127.0.0.1)" in shown and "(default: 8000)" in shown
    if command == "fine-tune":
        assert "(default: 4)" in shown and "(default: local)" in shown


def test_models_alone_prints_the_usage_naming_its_subcommands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["models"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: sportbot models")
    usage = err.split("\n\n")[0].split("sportbot models: error")[0]
    for subcommand in ("list", "promote", "rollback"):
        assert subcommand in usage
    assert "models_command" not in err


def test_sportbot_alone_prints_the_usage_naming_every_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stop:
        main([])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: sportbot")
    usage = err.split("sportbot: error")[0]
    for command in COMMANDS:
        assert command in usage

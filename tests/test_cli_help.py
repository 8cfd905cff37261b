"""The command line explains itself (issue 37): --version, a bare `seqdraw` lists the commands, each help
shows one default per flag, and an error never echoes a huge input whole (issue 36)."""
import re

import pytest

from seqdraw import __version__
from seqdraw.cli import main

COMMANDS = [["data", "synth"], ["data", "svhn"], ["data", "generated"], ["data", "svhn-crops"], ["train"], ["generate"], ["classifier", "train"],
            ["classifier", "eval"], ["evaluate"], ["export"], ["demo"], ["reproduce", "table2"]]


def run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_version(capsys):
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.strip() == f"seqdraw {__version__}"


def test_bare_command_lists_the_commands(capsys):
    code, out, _ = run([], capsys)
    assert code == 2
    for name in ("data", "train", "generate", "evaluate", "export", "demo", "reproduce"):
        assert re.search(rf"^\s+{name}\s", out, re.M), name


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_each_flag_shows_at_most_one_default(command, capsys):
    code, out, _ = run(command + ["--help"], capsys)
    assert code == 0
    text = " ".join(out.split())                       # argparse wraps lines
    assert "(default: None)" not in text
    for flag_help in re.split(r"\s(?=--?[a-z])", text):
        assert flag_help.count("(default") <= 1, flag_help


def test_a_huge_input_is_named_not_echoed(capsys):
    code, _, err = run(["generate", "1" * 100_000, "--out", "/nonexistent-dir/x.png"], capsys)
    assert code != 0 and "Traceback" not in err
    assert max(len(line) for line in err.splitlines()) < 400


def test_a_run_folder_given_as_a_model_names_final_and_best(tmp_path, capsys):
    from seqdraw.model.pretrained import save_model
    from seqdraw.model import ConditionalDRAW, preset
    tiny = dict(enc_size=8, dec_size=8, z_size=2, attention_size=4, steps_per_digit=1, read_n=2, write_n=2)
    for d in ("final", "best"):
        save_model(tmp_path / "run" / d / "model.safetensors", ConditionalDRAW(preset("seqdraw", **tiny)))
    code, _, err = run(["generate", "7", "--model", str(tmp_path / "run"), "--out", str(tmp_path / "x.png")], capsys)
    assert code == 2 and f"give {tmp_path / 'run' / 'final'} or {tmp_path / 'run' / 'best'}" in err


def test_the_largest_seed_draws_several_numbers(tmp_path, capsys):
    """seed + i for the i-th number must not be refused at the top of the seed range (issue 36)."""
    from seqdraw.model.pretrained import save_model
    from seqdraw.model import ConditionalDRAW, preset
    tiny = dict(enc_size=8, dec_size=8, z_size=2, attention_size=4, steps_per_digit=1, read_n=2, write_n=2)
    save_model(tmp_path / "m.safetensors", ConditionalDRAW(preset("seqdraw", **tiny)), extra={"max_len": 3})
    code, _, err = run(["generate", "7", "68", "157", "--model", str(tmp_path / "m.safetensors"), "--seed",
                        str(2**63 - 1), "--n", "2", "--out", str(tmp_path / "x.png")], capsys)
    assert code == 0, err


def test_evaluate_flags_are_eval_config():
    """Every EvalConfig field is a flag of `seqdraw evaluate`, with the field's range (declared once)."""
    import dataclasses

    from seqdraw.cli import build_parser
    from seqdraw.evaluate.config import EvalConfig

    base = ["evaluate", "--model", "m.safetensors", "--data", "d"]
    parser = build_parser()
    args = parser.parse_args(base + ["--allow-seen-heldout", "--judge", "a", "--judge", "b", "--temperature", "0.5"])
    assert args.allow_seen_heldout is True and args.judge == ["a", "b"] and args.temperature == 0.5
    flags = {a.dest for a in parser._subparsers._group_actions[0].choices["evaluate"]._actions}
    assert {f.name for f in dataclasses.fields(EvalConfig)} <= flags
    for bad in (["--temperature", "101"], ["--per-length", "0"], ["--seed", "-1"], ["--allow-seen-heldout", "maybe"]):
        with pytest.raises(SystemExit):
            parser.parse_args(base + bad)

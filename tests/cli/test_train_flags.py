"""The `train` flags are made from TrainConfig's field metadata and stay exactly what they were: the
same names, types, defaults, choices, metavars and exclusive pairs (pinned below from the parser as it
was written by hand before), and every TrainConfig field is a flag unless it says it is not one."""

from __future__ import annotations

import argparse

import pytest

from ift_desktop.cli import main
from ift_desktop.commands import train
from ift_desktop.core.training.config import TrainConfig
from ift_desktop.core.training.setting_fields import settings_of

# flag: (action, type, default, choices, metavar) of the hand-written parser (main, 2026-12-02)
TODAY = {
    "--config": ("store", None, None, None, "RUN_FILE"),
    "--data": ("store", None, None, None, "DIR"),
    "--model": ("store", None, None, None, "MODEL"),
    "--method": ("store", None, None, ("lora", "full"), None),
    "--max-steps": ("store", int, None, None, "N"),
    "--epochs": ("store", float, None, None, "E"),
    "--time-limit": ("store", float, None, None, "MINUTES"),  # issue 14: runs without a step limit fit a time
    "--lr": ("store", float, None, None, "X"),
    "--batch-size": ("store", int, None, None, "N"),
    "--grad-accum": ("store", int, None, None, "N"),
    "--max-length": ("store", int, None, None, "N"),
    "--lora-r": ("store", int, None, None, "N"),
    "--lora-alpha": ("store", int, None, None, "N"),
    "--lora-dropout": ("store", float, None, None, "P"),
    "--lora-targets": ("store", None, None, None, "A,B"),
    "--lora-layers": ("store", int, None, None, "N"),
    "--schedule": ("store", None, None, ("linear", "cosine", "constant", "constant_with_warmup"), None),
    "--warmup-ratio": ("store", float, None, None, "F"),
    "--weight-decay": ("store", float, None, None, "F"),
    "--eval-steps": ("store", int, None, None, "N"),
    "--eval-max-examples": ("store", int, None, None, "N"),
    "--save-steps": ("store", int, None, None, "N"),
    "--seed": ("store", int, None, None, "N"),
    "--gradient-checkpointing": ("store_true", None, None, None, None),
    "--packing": ("store_true", None, None, None, None),  # issue 14: packed rows instead of padded ones
    "--memory": ("store", None, None, ("auto", "lean", "fast"), None),
    "--precision": ("store", None, None, ("auto", "bf16", "fp16", "fp32"), None),
    "--device": ("store", None, None, None, "auto|cuda|mps|cpu"),
    "--chat-template": ("store_true", None, None, None, None),
    "--no-chat-template": ("store_false", None, True, None, None),
    "--probe": ("append", None, None, None, "PROMPT"),
    "--trust-remote-code": ("store_true", None, False, None, None),
    "--out": ("store", None, None, None, "RUN"),
    "--resume": ("store_true", None, False, None, None),
    "--processes": ("store", int, None, None, "N"),
    "--strategy": ("store", None, None, ("ddp", "fsdp", "deepspeed"), None),
    "--detach": ("store_true", None, False, None, None),
}
EXCLUSIVE_TODAY = {frozenset({"--max-steps", "--epochs"}), frozenset({"--chat-template", "--no-chat-template"})}
ACTIONS = {
    argparse._StoreAction: "store",
    argparse._StoreTrueAction: "store_true",
    argparse._StoreFalseAction: "store_false",
    argparse._AppendAction: "append",
}


@pytest.fixture(scope="module")
def parser():
    parser = argparse.ArgumentParser(prog="ift-desktop train")
    train.add_arguments(parser)
    return parser


def _flags(parser) -> dict:
    found = {}
    for action in parser._actions:
        if action.option_strings and action.dest != "help":
            choices = tuple(action.choices) if action.choices else None
            for flag in action.option_strings:
                found[flag] = (ACTIONS[type(action)], action.type, action.default, choices, action.metavar)
    return found


def test_the_train_flags_are_exactly_todays(parser):
    assert _flags(parser) == TODAY
    groups = {
        frozenset(f for a in g._group_actions for f in a.option_strings) for g in parser._mutually_exclusive_groups
    }
    assert groups == EXCLUSIVE_TODAY
    parser.format_help()  # every help text survives argparse's %-formatting


def test_every_train_config_field_is_a_flag_or_says_it_is_not(parser):
    flags = _flags(parser)
    for info in settings_of(TrainConfig):
        field = TrainConfig.__dataclass_fields__[info.name]
        if field.metadata.get("flag", "") is None:
            assert info.flag is None, info.name
        else:
            assert info.flag in flags, f"{info.name} has no flag and is not marked flag=None"
    not_flags = {info.name for info in settings_of(TrainConfig) if info.flag is None}
    assert not_flags == {"max_grad_norm", "save_total_limit", "logging_steps", "probe_max_new_tokens"}


def test_flags_make_the_config_they_name(parser):
    args = parser.parse_args(
        ["--lr", "0.002", "--schedule", "cosine", "--lora-targets", "q_proj, v_proj", "--probe", "a, b", "--probe", "c",
         "--no-chat-template", "--gradient-checkpointing", "--device", "cuda:1", "--epochs", "2"]
    )  # fmt: skip
    config = train.config_from_args(args)
    assert (config.learning_rate, config.lr_schedule, config.epochs) == (0.002, "cosine", 2.0)
    assert config.lora_target_modules == ["q_proj", "v_proj"] and config.probe_prompts == ["a, b", "c"]
    assert config.use_chat_template is False and config.gradient_checkpointing is True and config.device == "cuda:1"
    default = train.config_from_args(parser.parse_args([]))
    assert default == TrainConfig()  # flags not given keep the config's defaults


def test_a_bad_setting_names_its_label_flag_and_run_file_key(parser):
    with pytest.raises(Exception) as caught:
        train.config_from_args(parser.parse_args(["--lr", "-0.001"]))
    assert str(caught.value) == (
        "Learning rate (--lr; learning_rate in a run file) is -0.001; it must be above 0 and at most 1.0."
    )
    with pytest.raises(Exception) as core:
        TrainConfig(batch_size=0)
    assert str(core.value).startswith("Batch size is 0;") and "--" not in str(core.value)  # the core names no flag


def test_config_refuses_a_setting_flag_given_with_the_false_pair(tmp_path, capsys):
    run_file = tmp_path / "launch.json"
    run_file.write_text("{}")
    assert main(["train", "--config", str(run_file), "--no-chat-template"]) == 2
    assert "drop --no-chat-template" in capsys.readouterr().err


def test_a_new_setting_with_metadata_gets_its_flag():
    from dataclasses import dataclass

    from ift_desktop.core.training.setting_fields import setting

    @dataclass
    class WithPacking(TrainConfig):
        packing: bool = setting("Pack several short examples into one sequence.", False, label="Packing")
        pack_length: int | None = setting("Length of a packed sequence.", None, label="Packed length")

    parser = argparse.ArgumentParser()
    train.add_setting_arguments(parser, WithPacking)
    args = parser.parse_args(["--packing", "--pack-length", "512"])
    assert (args.packing, args.pack_length) == (True, 512)
    assert "Pack several short examples" in parser.format_help()

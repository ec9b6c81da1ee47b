"""Each training option is defined once, as a TrainConfig field: the parser, presets, sweeps and the losses follow."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from sct.cli import _train_config, build_parser
from sct.config import TrainConfig, option_types, parse_bool, preset_keys
from sct.errors import ConfigError
from sct.losses import DistillationLoss, SCTLoss
from sct.sweep import parse_param


def _subparser(command: str):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sub.choices[command]


@pytest.mark.parametrize("command", ["train", "distill"])
def test_every_option_field_is_an_option_with_its_default_in_the_help(command):
    actions = {a.dest: a for a in _subparser(command)._actions}
    for field in dataclasses.fields(TrainConfig):
        if "help" not in field.metadata:  # positional and run-level fields (file, output, preset, resume)
            continue
        if command not in field.metadata["commands"]:
            assert field.name not in actions, f"{field.name} is not an option of sct {command}"
            continue
        action = actions[field.name]
        assert action.default is None, field.name  # a preset, else the field's default, decides
        if field.metadata["choices"]:
            assert tuple(action.choices) == tuple(field.metadata["choices"])
        if field.metadata["kind"] == "value" and field.default is not None and field.name != "ablation":
            assert f"(default {field.default})" in action.help, field.name


def test_a_command_line_gives_the_field_defaults_unless_typed():
    args = build_parser().parse_args(["train", "f.tsv", "-o", "out", "--model", "m", "--lr", "1e-4", "--no-dedupe"])
    config = _train_config(args)
    defaults = TrainConfig("f.tsv", "out")
    assert (config.learning_rate, config.dedupe, config.model) == (1e-4, False, "m")
    changed = {k for k, v in config.to_dict().items() if v != getattr(defaults, k)}
    assert changed == {"learning_rate", "dedupe", "model"}
    argv = ["distill", "f.tsv", "-o", "o", "--model", "m", "--teacher", "t"]
    distill = _train_config(build_parser().parse_args(argv), "distill")
    assert (distill.objective, distill.teacher, distill.teacher_precision) == ("distill", "t", "float32")


def test_presets_and_sweeps_take_their_keys_and_types_from_the_fields():
    assert {"learning_rate", "queue_size", "teacher", "freeze_word_embeddings"} <= preset_keys()
    assert not {"seed", "overwrite", "output_dir"} & preset_keys()
    assert parse_param("queue_size=16,4") == ("queue_size", [16, 4])
    assert parse_param("freeze_word_embeddings=true,false") == ("freeze_word_embeddings", [True, False])
    assert option_types()["learning_rate"] is float
    with pytest.raises(ConfigError, match="not a training setting"):
        parse_param("output_dir=a,b")
    with pytest.raises(ValueError, match="expected true or false"):
        parse_bool("maybe")


def test_the_losses_default_to_the_configs_values():
    config = TrainConfig("f", "o")
    for loss in (SCTLoss, DistillationLoss):
        params = inspect.signature(loss).parameters
        for name in ("queue_size", "online_temperature", "reference_temperature", "head_expansion"):
            assert params[name].default == getattr(config, name), (loss.__name__, name)


def test_the_fast_student_preset_is_the_readme_recipe_s_flags():
    """`--preset distill-fast-l2` gives the same run as the flags the budget curve (and the shipped student) used."""
    flags = ("--views identical --preset distill-minilm-l2 --teacher sentence-transformers/all-MiniLM-L6-v2 "
             "--sct-weight 0 --teacher-queue-init teacher --batch-order length --freeze-word-embeddings --precision "
             "bfloat16 --max-steps 20000 --warmup-ratio 0.01 --eval-steps 128 --patience 0 --time-budget 240 "
             "--milestones 15,30,60,120,240").split()  # fmt: skip

    def settings(*argv: str) -> dict:
        config = _train_config(build_parser().parse_args(["distill", "s.txt", "-o", "out", *argv]), "distill")
        return {k: v for k, v in config.to_dict().items() if k != "preset"}

    assert settings("--preset", "distill-fast-l2") == settings(*flags)

"""tfvideo.flags: config flags and the CLIs' own flags sharing one absl namespace."""

import pytest
from absl import flags

from tfvideo import flags as flags_lib


def test_cli_flags_give_each_cli_its_own_default_unless_the_flag_is_given():
    values = flags.FlagValues()
    first, second = flags_lib.CliFlags(values), flags_lib.CliFlags(values)
    first.define(flags.DEFINE_integer, "warmup", 2, "first CLI")
    second.define(flags.DEFINE_integer, "warmup", 3, "second CLI")  # already defined: not redefined
    second.define(flags.DEFINE_enum, "format", "tflite", "enum", enum_values=["saved_model", "tflite"])
    values(["prog"])
    assert (first.value("warmup"), second.value("warmup"), second.value("format")) == (2, 3, "tflite")
    assert not second.given("warmup")
    values.unparse_flags()
    values(["prog", "--warmup=7", "--format=saved_model"])
    assert (first.value("warmup"), second.value("warmup"), second.value("format")) == (7, 7, "saved_model")
    assert second.given("warmup")
    with pytest.raises(flags.IllegalFlagValueError):
        values(["prog", "--format=onnx"])


def test_every_cli_reads_its_own_defaults_in_one_process():
    """All tfvideo CLIs imported together (as in this test process): the names they share keep each one's
    default (--warmup 2 vs 3, --dt 1.0 vs None, --output, --workdir, ...)."""
    from tfvideo import benchmark, evaluate
    from tfvideo.data import benchmark as data_benchmark, prepare
    from tfvideo.export import __main__ as export_main, benchmark as export_benchmark
    clis = [benchmark.CLI, evaluate.CLI, data_benchmark.CLI, prepare.CLI, export_main.CLI, export_benchmark.CLI]
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["prog"])
    try:
        for cli in clis:
            assert {name: cli.value(name) for name in cli.defaults} == cli.defaults
        assert benchmark.CLI.value("warmup") == 2 and data_benchmark.CLI.value("warmup") == 3
        assert export_benchmark.CLI.value("dt") == 1.0 and evaluate.CLI.value("dt") is None
    finally:
        flags.FLAGS.unparse_flags()


def test_config_from_flags_takes_config_defaults_for_flags_not_given():
    """Another CLI defined --dt and --batch_size first, with its own defaults: the config ignores those."""
    from tfvideo import config as config_lib
    values = flags.FlagValues()
    flags.DEFINE_float("dt", None, "evaluate's --dt", flag_values=values)
    flags.DEFINE_integer("batch_size", 99, "another batch size", flag_values=values)
    flags_lib.define_config_flags(values)
    values(["prog"])
    config = flags_lib.config_from_flags(values)
    assert config == config_lib.Config().validate()
    values.unparse_flags()
    values(["prog", "--batch_size=7", "--dt=0.5", "--latent_size=3"])
    config = flags_lib.config_from_flags(values)
    assert (config.train.batch_size, config.model.dt, config.model.latent_size) == (7, 0.5, 3)


def test_config_from_flagfile_reads_the_file_then_the_arguments(tmp_path):
    from tfvideo import config as config_lib
    path = tmp_path / "run.flags"
    path.write_text("--model=srvp\n--latent_size=5\n--batch_size=8\n")
    config = flags_lib.config_from_flagfile(str(path), ["--batch_size=3"])
    assert (config.model.latent_size, config.train.batch_size, config.model.noise_size) == \
        (5, 3, config_lib.SRVPConfig().noise_size)
    with pytest.raises(config_lib.ConfigError, match=r"Cannot read the flagfile '.*missing\.flags'"):
        flags_lib.config_from_flagfile(str(tmp_path / "missing.flags"))
    with pytest.raises(config_lib.ConfigError, match="with --batch_size=big"):
        flags_lib.config_from_flagfile(str(path), ["--batch_size=big"])


def test_given_config_args_are_the_config_flags_given():
    values = flags.FlagValues()
    flags_lib.define_config_flags(values)
    flags.DEFINE_integer("warmup", 2, "a CLI flag, not a config field", flag_values=values)
    values(["prog", "--latent_size=3", "--nouse_content", "--warmup=4"])
    assert sorted(flags_lib.given_config_args(values)) == ["--latent_size=3", "--nouse_content"]


def test_a_name_two_clis_define_with_different_types_serves_both():
    """benchmark's boolean --input and predict's path --input, imported in either order."""
    for order in ((bool, str), (str, bool)):
        values = flags.FlagValues()
        clis = {kind: flags_lib.CliFlags(values) for kind in order}
        for kind in order:
            if kind is bool:
                clis[bool].define(flags.DEFINE_bool, "input", False, "measure the input pipeline")
            else:
                clis[str].define(flags.DEFINE_string, "input", None, "the clip")
        assert isinstance(values["input"], flags_lib.SharedFlag)
        values(["prog"])
        assert clis[bool].value("input") is False and clis[str].value("input") is None
        values.unparse_flags()
        values(["prog", "--input=clip.mp4"])
        assert clis[str].value("input") == "clip.mp4"
        with pytest.raises(flags.IllegalFlagValueError, match="--input=clip.mp4"):
            clis[bool].value("input")
        values.unparse_flags()
        values(["prog", "--input"])
        assert clis[bool].value("input") is True
        values.unparse_flags()
        values(["prog", "--noinput"])
        assert clis[bool].value("input") is False


def test_names_of_the_same_type_stay_plain_flags():
    values = flags.FlagValues()
    flags_lib.CliFlags(values).define(flags.DEFINE_integer, "seed", 0, "a")
    flags_lib.CliFlags(values).define(flags.DEFINE_integer, "seed", 1, "b")
    assert not isinstance(values["seed"], flags_lib.SharedFlag)

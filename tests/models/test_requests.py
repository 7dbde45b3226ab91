"""The one sampling-request check (tfvideo.models.requests): each rule, and every caller raising its own error type
with the check's words."""

import re

import numpy as np
import pytest

from tfvideo import config as config_lib
from tfvideo import validation
from tfvideo.data import clips
from tfvideo.export import checks, client_lib
from tfvideo.export.client_lib import ClientError
from tfvideo.models import requests
from tfvideo.prediction import predict_lib
from tfvideo.prediction.errors import PredictError
from tfvideo.prediction.runtimes import ModelSpec

MIN_CONTEXT = 3


class RequestError(ValueError):
    pass


def check(num_samples=2, horizon=4, dt=0.5, context_frames=5, continuous_time=True, **options):
    return requests.check(num_samples, horizon, dt, context_frames, continuous_time=continuous_time,
                          min_context_frames=MIN_CONTEXT, error=RequestError, **options)


def test_a_good_request_gives_k_and_the_frames():
    request = check(dt=0.25)
    assert request == requests.SamplingRequest(2, 4, 0.25, 4, 5) and request.num_frames == 16
    assert check(dt=1, continuous_time=False).steps_per_frame == 1
    assert check(context_frames=None).context_frames is None  # not checked


# One case per rule: the request, and the message of the check (names without "--").
RULES = {
    "samples < 1": (dict(num_samples=0), "num_samples must be a whole number >= 1 (and < 2**31, an int32); got 0."),
    "horizon < 1": (dict(horizon=-2), "horizon must be a whole number >= 1 (and < 2**31, an int32); got -2."),
    "dt not 1/k": (dict(dt=0.3), "dt must be of the form 1/k for a whole number k from 1 to 1000"),
    "discrete dt": (dict(dt=0.5, continuous_time=False), "dt: this model is a discrete-time model (one step per "
                    "frame, no frames in between), so it takes dt=1 only. Use dt=1; got 0.5."),
    "context": (dict(context_frames=2), "context_frames=2: this model needs at least 3 context frames (it infers its "
                "state from them). Give at least 3."),
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_rule_names_the_value_and_the_fix_with_the_caller_s_error(rule):
    request, message = RULES[rule]
    with pytest.raises(RequestError, match="^" + re.escape(message)):
        check(**request)
    flagged = re.sub(r"(?<![\w-])(num_samples|horizon|dt|context_frames)(?=\W)", r"--\1", message)
    with pytest.raises(RequestError, match="^" + re.escape(flagged)):  # a CLI's flags
        check(**request, flags=True)


def _spec(**changes):
    values = dict(source="--workdir=fake (step 1)", image_size=16, channels=1, min_context_frames=MIN_CONTEXT,
                  dt_supported=True, training_dt=1.0, conditioning_frames=5, test_horizon=6,
                  preprocessing=clips.Preprocessing(16, 1))
    return ModelSpec(**{**values, **changes})


def _predict(num_samples, horizon, dt, context_frames, continuous_time):
    predict_lib.plan(_spec(dt_supported=continuous_time), predict_lib.Request(
        input="x", num_samples=num_samples, horizon=horizon, dt=dt, context_frames=context_frames))


def _client(num_samples, horizon, dt, context_frames, continuous_time):
    del context_frames  # the servers check the context
    client_lib.check_request(np.zeros([1, 5, 16, 16, 1], np.float32), num_samples, horizon, dt, 0,
                             dt_supported=continuous_time)


def _tflite_host(num_samples, horizon, dt, context_frames, continuous_time):
    checks.check_inputs(np.zeros([1, context_frames, 16, 16, 1], np.float32), num_samples, horizon, dt, 0,
                        image_size=16, channels=1, min_context_frames=1, dt_supported=continuous_time)


# caller -> (its check, its error type, how it names the values, who the model is)
CALLERS = {
    "predict": (_predict, PredictError, True, "the model of --workdir=fake (step 1)"),
    "export client": (_client, ClientError, True, "this model"),
    "TFLite host": (_tflite_host, ValueError, False, "this model"),
}


@pytest.mark.parametrize("caller", sorted(CALLERS))
@pytest.mark.parametrize("rule", ["samples < 1", "horizon < 1", "dt not 1/k", "discrete dt"])
def test_callers_use_the_one_check(caller, rule):
    """predict, the TF Serving clients and the TFLite host raise their own error with the check's message."""
    run, error, flags, who = CALLERS[caller]
    request = {**dict(num_samples=2, horizon=4, dt=0.5, context_frames=5, continuous_time=True), **RULES[rule][0]}
    with pytest.raises(RequestError) as expected:
        requests.check(request["num_samples"], request["horizon"], request["dt"], request["context_frames"],
                       continuous_time=request["continuous_time"], min_context_frames=MIN_CONTEXT, who=who,
                       flags=flags, error=RequestError, precision=np.float32)
    with pytest.raises(error) as raised:
        run(**request)
    assert str(raised.value) == str(expected.value)


def test_predict_checks_the_context_length_with_the_one_check():
    with pytest.raises(PredictError, match="^" + re.escape("--context_frames=2: the model of --workdir=fake (step 1) "
                                                           "needs at least 3 context frames")):
        _predict(2, 4, 0.5, 2, True)


def test_the_graph_and_the_config_say_the_discrete_time_rule_in_the_same_words():
    message = validation.discrete_time_message("dt", "this model")
    with pytest.raises(RequestError, match="^" + re.escape(message)):
        check(dt=0.5, continuous_time=False)
    svg = config_lib.Config().replace(model={"model": "svg", "dt": 0.5})
    with pytest.raises(config_lib.ConfigError,
                       match="^" + re.escape(validation.discrete_time_message("--dt", "--model=svg"))):
        svg.validate()

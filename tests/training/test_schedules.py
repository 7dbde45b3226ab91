import numpy as np

from tfvideo.training import schedules


def test_burnin_then_linear_decay_to_zero():
    schedule = schedules.BurnInLinearDecay(3e-4, burnin_steps=10, decay_steps=4)
    values = [float(schedule(step)) for step in [0, 9, 10, 11, 12, 13, 14, 20]]
    np.testing.assert_allclose(values, [3e-4, 3e-4, 3e-4, 2.25e-4, 1.5e-4, 0.75e-4, 0.0, 0.0], rtol=1e-6)


def test_no_decay_is_constant_and_config_round_trips():
    schedule = schedules.BurnInLinearDecay(1e-3, burnin_steps=0, decay_steps=0)
    assert float(schedule(10**6)) == np.float32(1e-3)
    again = schedules.BurnInLinearDecay(**schedule.get_config())
    assert again.get_config() == schedule.get_config()

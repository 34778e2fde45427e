"""Schedules: SB2's Schedule classes and PPO2's progress functions."""
import pickle

import numpy as np
import pytest

from stable_ppo2.common.schedules import (
    ConstantSchedule,
    ConstFn,
    LinearSchedule,
    PiecewiseSchedule,
    constfn,
    get_schedule_fn,
    linear_interpolation,
    linear_schedule,
)


def test_piecewise_schedule():
    sched = PiecewiseSchedule([(-5, 100), (5, 200), (10, 50), (100, 50), (200, -50)], outside_value=500)
    expected = {-10: 500, 0: 150, 5: 200, 9: 80, 50: 50, 80: 50, 150: 0, 175: -25, 201: 500, 500: 500}
    for step, value in expected.items():
        assert np.isclose(sched.value(step), value)
    assert np.isclose(sched.value(200 - 1e-10), -50)


def test_piecewise_schedule_without_outside_value_raises():
    sched = PiecewiseSchedule([(0, 1.0), (10, 2.0)])
    assert np.isclose(sched.value(5), 1.5)
    with pytest.raises(ValueError, match="outside the schedule"):
        sched.value(10)
    with pytest.raises(ValueError, match="sorted by time"):
        PiecewiseSchedule([(10, 1.0), (0, 2.0)])


def test_constant_schedule():
    sched = ConstantSchedule(5)
    assert all(np.isclose(sched.value(i), 5) for i in range(-100, 100))


@pytest.mark.parametrize("initial_p,final_p,mid", [(0.2, 0.8, 0.5), (0.8, 0.2, 0.5), (-0.6, 0.2, -0.2),
                                                   (0.2, -0.6, -0.2)])
def test_linear_schedule_class(initial_p, final_p, mid):
    sched = LinearSchedule(schedule_timesteps=100, initial_p=initial_p, final_p=final_p)
    assert np.isclose(sched.value(0), initial_p)
    assert np.isclose(sched.value(50), mid)
    assert np.isclose(sched.value(100), final_p)
    assert np.isclose(sched.value(1000), final_p)  # stays at final_p


def test_linear_interpolation():
    assert linear_interpolation(1.0, 3.0, 0.25) == 1.5


def test_get_schedule_fn_numbers_become_constant_floats():
    for value in (3, 0.5, np.float32(0.25)):
        fn = get_schedule_fn(value)
        assert isinstance(fn, ConstFn)
        for progress in (1.0, 0.5, 0.0):
            assert fn(progress) == float(value)
            assert type(fn(progress)) is float


def test_get_schedule_fn_keeps_callables_and_rejects_others():
    def fn(progress):
        return progress * 2

    assert get_schedule_fn(fn) is fn
    with pytest.raises(TypeError, match="schedule"):
        get_schedule_fn("0.1")
    with pytest.raises(TypeError):
        get_schedule_fn(None)


def test_linear_schedule_function():
    fn = linear_schedule(2.5e-4)
    assert fn(1.0) == 2.5e-4
    assert np.isclose(fn(0.5), 1.25e-4)
    assert fn(0.0) == 0.0


def test_progress_functions_pickle_by_reference():
    const = pickle.loads(pickle.dumps(constfn(0.2)))
    assert const(0.3) == 0.2 and const == constfn(0.2)
    linear = pickle.loads(pickle.dumps(linear_schedule(3.0)))
    assert linear(0.5) == 1.5
    # pickled as a reference to the module-level class, not as code
    assert b"stable_ppo2.common.schedules" in pickle.dumps(constfn(0.2))

"""Schedules for hyperparameters that change during training.

Two families, as in SB2:

- progress functions ``f(progress)`` used by PPO2 for ``learning_rate`` and ``cliprange``; PPO2 calls them with
  the remaining fraction of training, going from 1 down towards 0 (``get_schedule_fn``, ``constfn``,
  ``linear_schedule``);
- ``Schedule`` objects with ``value(step)`` (``ConstantSchedule``, ``LinearSchedule``, ``PiecewiseSchedule``).

The callables are instances of module-level classes rather than closures, so models that store them pickle
them by reference and stay loadable across Python versions.
"""
from numbers import Real
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

ScheduleLike = Union[float, int, Callable[[float], float]]


class ConstFn:
    """A callable that ignores its argument and returns a fixed value."""

    def __init__(self, val: float) -> None:
        self.val = val

    def __call__(self, _progress: float) -> float:
        return self.val

    def __repr__(self) -> str:
        return "ConstFn({!r})".format(self.val)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConstFn) and other.val == self.val

    def __hash__(self) -> int:
        return hash((ConstFn, self.val))


class LinearFn:
    """``f(progress) = progress * initial_value``: decays linearly to 0 as PPO2's progress goes 1 -> 0."""

    def __init__(self, initial_value: float) -> None:
        self.initial_value = initial_value

    def __call__(self, progress: float) -> float:
        return progress * self.initial_value

    def __repr__(self) -> str:
        return "LinearFn({!r})".format(self.initial_value)


def constfn(val: float) -> ConstFn:
    """Return a function that always returns ``val``."""
    return ConstFn(val)


def linear_schedule(initial_value: float) -> LinearFn:
    """Return ``f(progress) = progress * initial_value`` (progress is the remaining fraction, 1 -> 0)."""
    return LinearFn(initial_value)


def get_schedule_fn(value_schedule: ScheduleLike) -> Callable[[float], float]:
    """Turn a number into a constant function (cast to float); return a callable unchanged."""
    if isinstance(value_schedule, (Real, np.number)) and not isinstance(value_schedule, np.complexfloating):
        return constfn(float(value_schedule))
    if not callable(value_schedule):
        raise TypeError("a schedule must be a float, an int or a callable taking the progress, got "
                        "{!r}".format(value_schedule))
    return value_schedule


def linear_interpolation(left: float, right: float, alpha: float) -> float:
    """``left + alpha * (right - left)``."""
    return left + alpha * (right - left)


class Schedule:
    """Base class: ``value(step)`` gives the parameter's value at timestep ``step``."""

    def value(self, step: float) -> float:
        raise NotImplementedError


class ConstantSchedule(Schedule):
    """Always ``value``."""

    def __init__(self, value: float) -> None:
        self._value = value

    def value(self, step: float) -> float:
        return self._value


class PiecewiseSchedule(Schedule):
    """Interpolates between ``(time, value)`` endpoints sorted by time.

    For ``time_a <= step < time_b`` returns ``interpolation(value_a, value_b, alpha)`` with ``alpha`` the fraction of
    the interval covered. Outside all intervals returns ``outside_value``; if that is None, an AssertionError.
    """

    def __init__(self, endpoints: Sequence[Tuple[float, float]],
                 interpolation: Callable[[float, float, float], float] = linear_interpolation,
                 outside_value: Optional[float] = None) -> None:
        times = [point[0] for point in endpoints]
        if times != sorted(times):
            raise ValueError(f"PiecewiseSchedule endpoints must be sorted by time, got times {times}")
        self._interpolation = interpolation
        self._outside_value = outside_value
        self._endpoints: List[Tuple[float, float]] = list(endpoints)

    def value(self, step: float) -> float:
        for (left_t, left), (right_t, right) in zip(self._endpoints[:-1], self._endpoints[1:]):
            if left_t <= step < right_t:
                alpha = float(step - left_t) / (right_t - left_t)
                return self._interpolation(left, right, alpha)
        if self._outside_value is None:
            raise ValueError("step {} is outside the schedule and no outside_value was given".format(step))
        return self._outside_value


class LinearSchedule(Schedule):
    """Goes linearly from ``initial_p`` to ``final_p`` over ``schedule_timesteps`` steps, then stays at ``final_p``."""

    def __init__(self, schedule_timesteps: int, final_p: float, initial_p: float = 1.0) -> None:
        self.schedule_timesteps = schedule_timesteps
        self.final_p = final_p
        self.initial_p = initial_p

    def value(self, step: float) -> float:
        fraction = min(float(step) / self.schedule_timesteps, 1.0)
        return self.initial_p + fraction * (self.final_p - self.initial_p)

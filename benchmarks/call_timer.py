"""Wall time of each call of a method, for the benchmark scripts (runs on Python 3.7 too, in SB2's venv)."""
import time


def time_calls(obj, name):
    """Replace ``obj.name`` by a wrapper that appends each call's wall seconds to the returned list."""
    method = getattr(obj, name)
    seconds = []

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - start)

    setattr(obj, name, timed)
    return seconds


def timed_learn(model, total_timesteps, update_method):
    """``model.learn(total_timesteps)`` timed: ``(wall s, process CPU s, seconds of each update_method call)``."""
    update_seconds = time_calls(model, update_method)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    model.learn(total_timesteps=total_timesteps)
    return time.perf_counter() - wall0, time.process_time() - cpu0, update_seconds

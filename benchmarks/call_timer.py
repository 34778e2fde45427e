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

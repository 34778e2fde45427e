"""Bootstrap ``gym`` for processes started by a legacy script (see the folder's ``__init__.py``)."""
import os as _os

if __name__ == "gym":  # found on sys.path, not imported as stable_ppo2.legacy._bootstrap.gym
    import _stable_ppo2_legacy_boot

    _stable_ppo2_legacy_boot.stand_in(
        __name__, "stable_ppo2.legacy.gym", _os.environ.get("STABLE_PPO2_LEGACY_GYM") == "1"
    )

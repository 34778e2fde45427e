"""``import stable_baselines`` with the legacy startup hook on: stable_ppo2's stand-in (see ``_hook/__init__.py``)."""
if __name__ == "stable_baselines":  # found on sys.path, not imported as stable_ppo2.legacy._hook.stable_baselines
    from stable_ppo2.legacy.hook import stand_in

    stand_in(__name__)

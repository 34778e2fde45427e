"""``python -m stable_ppo2``: the ``stable-ppo2`` command (see :mod:`stable_ppo2.cli`)."""
import sys

from stable_ppo2.cli import main

if __name__ == "__main__":
    sys.exit(main())

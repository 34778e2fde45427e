"""Packages for processes that a legacy script starts (``python -m stable_ppo2.legacy`` puts this folder on their path).

multiprocessing's spawn and forkserver start methods run the script again in a fresh interpreter, without the
runner. There ``import stable_baselines`` / ``import gym`` find the packages of this folder, which install the
alias (and the compatibility gym, when the runner used it) and then stand aside for the real modules. Outside a
runner's children (``STABLE_PPO2_LEGACY`` unset), they load the real installed package if there is one.
"""

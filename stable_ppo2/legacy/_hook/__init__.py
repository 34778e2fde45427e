"""Packages that the opt-in startup hook puts on ``sys.path`` (``stable-ppo2 legacy enable``; see ``hook``).

A ``.pth`` file in site-packages names this folder, so in every interpreter of that environment
``import stable_baselines`` / ``import gym`` reach these packages when no real package of that name comes
earlier on the path; each installs the alias and then replaces itself in ``sys.modules``.
"""

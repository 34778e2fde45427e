#!/usr/bin/env python
"""Model files written by the ORIGINAL Stable-Baselines 2 after training, with SB2's outputs.

Run with the SB2 venv (Python 3.7, tensorflow 1.15.5, stable-baselines 2.10.2, gym 0.17.3,
cloudpickle 1.6.0):

    .bench/sb2-venv/bin/python tools/sb2/make_zip_fixtures.py --out tests/fixtures/sb2_zips

For every case a seeded SB2 ``PPO2`` (``seed=0, n_cpu_tf_sess=1``, 2 envs, ``n_steps=32``) is trained
for two updates with ``learn(128)`` and saved with ``model.save(OUT/<case>.zip)``; after ``learn`` the
``learning_rate`` and ``cliprange`` entries are cloudpickled functions (SB2's ``constfn`` closures, or
the user's lambda), as in every zip SB2 users hold.  The saved model is then re-loaded with SB2's own
``PPO2.load`` and its outputs for a fixed observation batch are written to ``OUT/<case>.npz``:

    obs                  the observation batch (seeded samples of the observation space; for the
                         VecNormalize case, the normalised batch the policy sees)
    obs_raw              (VecNormalize case) the raw batch, before normalisation
    value                model.value(obs)
    proba                action_probability(obs)              (Discrete, MultiBinary)
    proba_<i>            action_probability(obs)[i]           (MultiDiscrete, one per dimension)
    proba_mean/proba_std action_probability(obs)              (Box)
    det_action           predict(obs, deterministic=True)[0]  (Box: clipped)
    fixed_actions        seeded actions; fixed_actions_logp = action_probability(obs, fixed_actions, logp=True)

``OUT/<case>.json`` holds the case, env, policy, policy kwargs (JSON form), spaces, parameter names,
the schedules' values and the versions.  Extra files:

    discrete_cartpole.pkl          the same model saved with ``save(path, cloudpickle=True)`` (SB2's
                                   legacy format written by cloudpickle 1.6: params as an OrderedDict)
    box_pendulum_vecnorm.vecnormalize.pkl   ``VecNormalize.save`` of the training wrapper
    box_pendulum_vecnorm/obs_rms.pkl, ret_rms.pkl   ``save_running_average`` (the zoo's layout)

Cases: MlpPolicy for each action space (Discrete CartPole-v1, Box Pendulum-v0, MultiDiscrete and
MultiBinary identity envs), CnnPolicy on a 36x36x1 uint8 image env (the smallest input nature_cnn
accepts; the file stays well under 1 MB), custom ``net_arch`` with ``act_fun=tf.nn.relu`` in
``policy_kwargs``, a policy subclass defined in this script (pickled by value: it must be supplied
at load time), a lambda learning-rate schedule (pickled by value, not a constant), and a Box model
trained under VecNormalize.  The run takes about a minute.
"""
import argparse
import json
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import gym  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)

import cloudpickle  # noqa: E402
import stable_baselines  # noqa: E402
from stable_baselines import PPO2  # noqa: E402
from stable_baselines.common.identity_env import IdentityEnvMultiBinary, IdentityEnvMultiDiscrete  # noqa: E402
from stable_baselines.common.policies import FeedForwardPolicy  # noqa: E402
from stable_baselines.common.vec_env import DummyVecEnv, VecNormalize  # noqa: E402

N_OBS = 32
TRAIN = dict(n_steps=32, nminibatches=2, noptepochs=2, seed=0, n_cpu_tf_sess=1, verbose=0)


class SmallImageEnv(gym.Env):
    """36x36x1 uint8 frames of noise; reward 1 when the action equals the frame's mean bucket."""

    observation_space = gym.spaces.Box(0, 255, (36, 36, 1), np.uint8)
    action_space = gym.spaces.Discrete(3)

    def __init__(self):
        self.rng = np.random.RandomState(0)
        self.frame = None
        self.t = 0

    def seed(self, seed=None):
        self.rng = np.random.RandomState(seed)
        return [seed]

    def _draw(self):
        self.frame = self.rng.randint(0, 256, size=(36, 36, 1)).astype(np.uint8)
        return self.frame

    def reset(self):
        self.t = 0
        return self._draw()

    def step(self, action):
        reward = float(int(action) == int(self.frame.mean() * 3 // 256))
        self.t += 1
        return self._draw(), reward, self.t >= 20, {}


class CustomPolicy(FeedForwardPolicy):
    """SB2's documentation example: pickled by value, so a loader must be given the class."""

    def __init__(self, *args, **kwargs):
        super(CustomPolicy, self).__init__(*args, **kwargs, net_arch=[8, dict(vf=[8, 8], pi=[8, 8])],
                                           feature_extraction="mlp")


def make_env_fn(env_id, seed, rank):
    def _thunk():
        if env_id == "IdentityEnvMultiDiscrete(3)":
            env = IdentityEnvMultiDiscrete(3)
        elif env_id == "IdentityEnvMultiBinary(3)":
            env = IdentityEnvMultiBinary(3)
        elif env_id == "SmallImageEnv":
            env = SmallImageEnv()
        else:
            env = gym.make(env_id)
        env.seed(seed + rank)
        env.action_space.seed(seed + rank)
        return env
    return _thunk


# name, env id, policy, policy_kwargs (python), policy_kwargs (JSON form), extra constructor kwargs,
# JSON form of the extra kwargs
CASES = [
    ("discrete_cartpole", "CartPole-v1", "MlpPolicy", None, None, {}, {}),
    ("box_pendulum", "Pendulum-v0", "MlpPolicy", None, None, {}, {}),
    ("multidiscrete", "IdentityEnvMultiDiscrete(3)", "MlpPolicy", None, None, {}, {}),
    ("multibinary", "IdentityEnvMultiBinary(3)", "MlpPolicy", None, None, {}, {}),
    ("cnn_image", "SmallImageEnv", "CnnPolicy", None, None, {}, {}),
    ("custom_relu", "CartPole-v1", "MlpPolicy",
     dict(net_arch=[32, dict(pi=[16], vf=[16])], act_fun=tf.nn.relu),
     dict(net_arch=[32, dict(pi=[16], vf=[16])], act_fun="tf.nn.relu"), {}, {}),
    ("custom_policy_class", "CartPole-v1", CustomPolicy, None, None, {}, {}),
    ("lambda_schedule", "CartPole-v1", "MlpPolicy", None, None,
     dict(learning_rate=lambda frac: frac * 1e-3), dict(learning_rate="lambda frac: frac * 1e-3")),
    ("box_pendulum_vecnorm", "Pendulum-v0", "MlpPolicy", None, None, {}, {}),
]


def space_to_json(space):
    desc = {"class": type(space).__name__, "shape": list(space.shape) if space.shape is not None else None,
            "dtype": str(space.dtype) if space.dtype is not None else None}
    if isinstance(space, gym.spaces.Discrete):
        desc["n"] = int(space.n)
    elif isinstance(space, gym.spaces.MultiDiscrete):
        desc["nvec"] = [int(x) for x in space.nvec]
    elif isinstance(space, gym.spaces.MultiBinary):
        desc["n"] = int(space.n)
    elif isinstance(space, gym.spaces.Box):
        if space.low.size <= 64:
            desc["low"] = space.low.astype(float).tolist()
            desc["high"] = space.high.astype(float).tolist()
        else:
            desc["low_scalar"] = float(space.low.min())
            desc["high_scalar"] = float(space.high.max())
    return desc


def sample_batch(space, rng, n):
    if isinstance(space, gym.spaces.Discrete):
        return rng.randint(0, space.n, size=(n,))
    if isinstance(space, gym.spaces.MultiDiscrete):
        return np.stack([rng.randint(0, k, size=n) for k in space.nvec], axis=1)
    if isinstance(space, gym.spaces.MultiBinary):
        return rng.randint(0, 2, size=(n, space.n))
    if space.dtype == np.uint8:
        return rng.randint(0, 256, size=(n,) + space.shape).astype(np.uint8)
    low = np.maximum(space.low, -3.0)
    high = np.minimum(space.high, 3.0)
    return rng.uniform(low, high, size=(n,) + space.shape).astype(np.float32)


def schedule_values(fn):
    if callable(fn):
        return {"callable": True, "at_1": float(fn(1.0)), "at_0.5": float(fn(0.5))}
    return {"callable": False, "value": fn}


def run_case(case, out_dir):
    name, env_id, policy, policy_kwargs, pk_json, extra, extra_json = case
    env = DummyVecEnv([make_env_fn(env_id, 0, rank) for rank in range(2)])
    vec_norm = None
    if name.endswith("_vecnorm"):
        env = vec_norm = VecNormalize(env)
    model = PPO2(policy, env, policy_kwargs=policy_kwargs, **TRAIN, **extra)
    model.learn(total_timesteps=128)
    zip_path = os.path.join(out_dir, name + ".zip")
    model.save(zip_path)
    files = [name + ".zip"]
    if name == "discrete_cartpole":
        model.save(os.path.join(out_dir, name + ".pkl"), cloudpickle=True)
        files.append(name + ".pkl")
    if vec_norm is not None:
        vec_norm.save(os.path.join(out_dir, name + ".vecnormalize.pkl"))
        stats_dir = os.path.join(out_dir, name)
        os.makedirs(stats_dir, exist_ok=True)
        vec_norm.save_running_average(stats_dir)
        files += [name + ".vecnormalize.pkl", name + "/obs_rms.pkl", name + "/ret_rms.pkl"]

    load_kwargs = {"policy": CustomPolicy} if policy is CustomPolicy else {}
    loaded = PPO2.load(zip_path, **load_kwargs)
    rng = np.random.RandomState(123)
    obs_raw = sample_batch(loaded.observation_space, rng, N_OBS)
    out = {}
    if vec_norm is not None:
        vec_norm.training = False
        obs = vec_norm.normalize_obs(obs_raw).astype(np.float32)
        out["obs_raw"] = obs_raw
    else:
        obs = obs_raw
    out["obs"] = obs
    out["value"] = loaded.value(obs)
    proba = loaded.action_probability(obs)
    space = loaded.action_space
    if isinstance(space, gym.spaces.Box):
        out["proba_mean"], out["proba_std"] = proba
    elif isinstance(space, gym.spaces.MultiDiscrete):
        for i, p in enumerate(proba):
            out["proba_%d" % i] = p
    else:
        out["proba"] = proba
    out["det_action"] = loaded.predict(obs, deterministic=True)[0]
    fixed = sample_batch(space, rng, N_OBS)
    if isinstance(space, gym.spaces.Box):
        fixed = rng.uniform(space.low, space.high, size=(N_OBS,) + space.shape).astype(np.float32)
    out["fixed_actions"] = fixed
    out["fixed_actions_logp"] = loaded.action_probability(obs, actions=fixed, logp=True).reshape(-1)
    params = loaded.get_parameters()
    np.savez(os.path.join(out_dir, name + ".npz"), **out)

    meta = {
        "case": name,
        "env_id": env_id,
        "policy": policy if isinstance(policy, str) else policy.__name__,
        "policy_pickled_by_value": not isinstance(policy, str),
        "policy_kwargs": pk_json,
        "constructor_extra": extra_json,
        "train": dict(TRAIN, n_envs=2, total_timesteps=128),
        "files": files,
        "observation_space": space_to_json(loaded.observation_space),
        "action_space": space_to_json(loaded.action_space),
        "param_names": list(params.keys()),
        "learning_rate": schedule_values(model.learning_rate),
        "cliprange": schedule_values(model.cliprange),
        "cliprange_vf": schedule_values(model.cliprange_vf),
        "n_envs": loaded.n_envs,
        "versions": {"python": sys.version.split()[0], "stable_baselines": stable_baselines.__version__,
                     "tensorflow": tf.__version__, "gym": gym.__version__,
                     "cloudpickle": cloudpickle.__version__, "numpy": np.__version__},
    }
    if vec_norm is not None:
        meta["vecnormalize"] = {"clip_obs": vec_norm.clip_obs, "epsilon": vec_norm.epsilon,
                                "obs_rms_count": float(vec_norm.obs_rms.count)}
    with open(os.path.join(out_dir, name + ".json"), "w") as file:
        json.dump(meta, file, indent=1)
    sizes = {f: os.path.getsize(os.path.join(out_dir, f)) for f in files}
    print(name, sizes, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="tests/fixtures/sb2_zips")
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for case in CASES:
        if args.only and case[0] not in args.only:
            continue
        tf.compat.v1.reset_default_graph()
        run_case(case, args.out)


if __name__ == "__main__":
    main()

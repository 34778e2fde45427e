"""SB2 guide "Dealing with NaNs and infs": how numpy and TensorFlow report invalid values, and the
VecCheckNan wrapper that names the culprit.

The guide's TensorFlow snippets use TF1 sessions (tf.Session, tf.add_check_numerics_ops); the
TensorFlow 2 equivalent, tf.debugging.check_numerics, is shown instead. The last part crashes on purpose
in the guide; here the error is caught and printed.
"""
import gym
from gym import spaces
import numpy as np
import tensorflow as tf

from stable_baselines import PPO2
from stable_baselines.common.vec_env import DummyVecEnv, VecCheckNan

print("numpy test (warns):")
with np.errstate(divide='warn'):
    print(np.float64(1.0) / np.float64(0.0))

print("numpy with seterr(all='raise'):")
old_settings = np.seterr(all='raise')
try:
    print(np.float64(1.0) / np.float64(0.0))
except FloatingPointError as error:
    print("FloatingPointError:", error)
print("numpy propagation (neither warns nor raises):", np.float64('NaN') + np.float64(1.0))
np.seterr(**old_settings)

print("tensorflow test (quiet):", float(tf.constant(1.0) / tf.constant(0.0)))
try:
    tf.debugging.check_numerics(tf.constant(float('nan')) + tf.constant(1.0), "propagation")
except tf.errors.InvalidArgumentError as error:
    print("tensorflow check_numerics:", error.message.splitlines()[0])


class NanAndInfEnv(gym.Env):
    """Custom Environment that raised NaNs and Infs"""
    metadata = {'render.modes': ['human']}

    def __init__(self):
        super(NanAndInfEnv, self).__init__()
        self.action_space = spaces.Box(low=-np.inf, high=np.inf, shape=(1,), dtype=np.float64)
        self.observation_space = spaces.Box(low=-np.inf, high=np.inf, shape=(1,), dtype=np.float64)

    def step(self, _action):
        randf = np.random.rand()
        if randf > 0.99:
            obs = float('NaN')
        elif randf > 0.98:
            obs = float('inf')
        else:
            obs = randf
        return [obs], 0.0, False, {}

    def reset(self):
        return [0.0]

    def render(self, mode='human', close=False):
        pass


env = DummyVecEnv([lambda: NanAndInfEnv()])
env = VecCheckNan(env, raise_exception=True)

model = PPO2('MlpPolicy', env)
try:
    # crashes, explaining that the invalid value came from the environment
    model.learn(total_timesteps=int(2e5))
except ValueError as error:
    print("VecCheckNan:", error)
else:
    raise AssertionError("VecCheckNan did not stop training")

"""SB2 guide "Custom Policy Network", with PPO2 throughout (the guide uses A2C for some examples).

1. `policy_kwargs` (activation and net_arch), saved and loaded with the model;
2. a FeedForwardPolicy subclass, passed explicitly to load();
3. a registered policy used by name;
4. an LstmPolicy subclass with the guide's constructor (positional sess, ob_space, ..., n_lstm, reuse);
5. a policy with a custom cnn_extractor written with the tf_layers helpers (conv, linear, conv_to_fc).

The guide's last example builds the network with raw TF1 graph code (tf.variable_scope, tf.layers.dense,
sess.run); that cannot run on TensorFlow 2, see docs/legacy.md for its stable_ppo2 form.
LunarLander-v2 runs as gymnasium's LunarLander-v3 (needs box2d).
"""
import gym
import numpy as np
import tensorflow as tf

from stable_baselines import PPO2
from stable_baselines.common.policies import FeedForwardPolicy, LstmPolicy, CnnPolicy, register_policy
from stable_baselines.common.tf_layers import conv, linear, conv_to_fc
from stable_baselines.common.vec_env import DummyVecEnv

# 1. policy_kwargs: two layers of 32 with tanh
policy_kwargs = dict(act_fun=tf.nn.tanh, net_arch=[32, 32])
model = PPO2("MlpPolicy", "CartPole-v1", policy_kwargs=policy_kwargs, verbose=1)
env = model.get_env()
model.learn(total_timesteps=1024)
model.save("ppo2-cartpole")
del model
# the policy_kwargs come back with the model
model = PPO2.load("ppo2-cartpole")
assert model.policy_kwargs["net_arch"] == [32, 32]


# 2. A policy class: three layers of 128 for each of the policy and value networks
class CustomPolicy(FeedForwardPolicy):
    def __init__(self, *args, **kwargs):
        super(CustomPolicy, self).__init__(*args, **kwargs,
                                           net_arch=[dict(pi=[128, 128, 128], vf=[128, 128, 128])],
                                           feature_extraction="mlp")


env = gym.make('LunarLander-v2')
env = DummyVecEnv([lambda: env])
model = PPO2(CustomPolicy, env, verbose=1)
model.learn(total_timesteps=1024)
model.save("ppo2-lunar")
del model
# A policy defined in the script must be given to load()
model = PPO2.load("ppo2-lunar", policy=CustomPolicy)
print("pi layers:", sorted(name for name in model.get_parameters() if "pi_fc" in name and name.endswith("w:0")))

# 3. A registered policy can be named by a string
register_policy('CustomPolicy', CustomPolicy)
model = PPO2(policy='CustomPolicy', env='LunarLander-v2', verbose=1).learn(total_timesteps=512)


# 4. A recurrent policy with net_arch: a shared layer, the LSTM, then separate layers
class CustomLSTMPolicy(LstmPolicy):
    def __init__(self, sess, ob_space, ac_space, n_env, n_steps, n_batch, n_lstm=64, reuse=False, **_kwargs):
        super().__init__(sess, ob_space, ac_space, n_env, n_steps, n_batch, n_lstm, reuse,
                         net_arch=[8, 'lstm', dict(vf=[5, 10], pi=[10])],
                         layer_norm=True, feature_extraction="mlp", **_kwargs)


model = PPO2(CustomLSTMPolicy, 'CartPole-v1', nminibatches=1, n_steps=64, verbose=1)
model.learn(total_timesteps=512)
print("LSTM state shape:", model.initial_state.shape)


# 5. A custom CNN feature extractor for image observations, with SB2's layer helpers
def small_cnn(scaled_images, **kwargs):
    activ = tf.nn.relu
    layer_1 = activ(conv(scaled_images, 'c1', n_filters=8, filter_size=3, stride=1, init_scale=np.sqrt(2), **kwargs))
    layer_2 = activ(conv(layer_1, 'c2', n_filters=16, filter_size=3, stride=2, init_scale=np.sqrt(2), **kwargs))
    return activ(linear(conv_to_fc(layer_2), 'fc1', n_hidden=64, init_scale=np.sqrt(2)))


class ColourEnv(gym.Env):
    """Show a 16x16 image filled with one of three colours; reward 1 for naming the colour."""
    metadata = {'render.modes': ['rgb_array']}

    def __init__(self):
        super(ColourEnv, self).__init__()
        self.action_space = gym.spaces.Discrete(3)
        self.observation_space = gym.spaces.Box(low=0, high=255, shape=(16, 16, 3), dtype=np.uint8)
        self.colour, self.steps = 0, 0

    def _obs(self):
        image = np.zeros((16, 16, 3), dtype=np.uint8)
        image[..., self.colour] = 255
        return image

    def reset(self):
        self.steps = 0
        self.colour = self.np_random.randint(3)
        return self._obs()

    def step(self, action):
        reward = float(action == self.colour)
        self.steps += 1
        self.colour = self.np_random.randint(3)
        return self._obs(), reward, self.steps >= 20, {}

    def render(self, mode='rgb_array'):
        return self._obs()


model = PPO2(CnnPolicy, DummyVecEnv([ColourEnv]), policy_kwargs=dict(cnn_extractor=small_cnn), n_steps=64)
model.learn(total_timesteps=512)
print("CNN layers:", sorted(name for name in model.get_parameters() if "/c" in name))

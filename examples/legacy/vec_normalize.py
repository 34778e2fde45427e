"""SB2 guide "Examples: Normalizing input features" (VecNormalize), on Pendulum-v0.

The guide uses a PyBullet env (HalfCheetahBulletEnv-v0), which needs pybullet and the old gym; any
continuous-control env shows the same steps. Pendulum-v0 runs as gymnasium's Pendulum-v1.
"""
import os

import gym

from stable_baselines.common.vec_env import DummyVecEnv, VecNormalize
from stable_baselines import PPO2

env = DummyVecEnv([lambda: gym.make("Pendulum-v0")])
# Normalize the observations and the rewards with running averages
env = VecNormalize(env, norm_obs=True, norm_reward=True, clip_obs=10.)

model = PPO2('MlpPolicy', env)
model.learn(total_timesteps=2048)

# Save the statistics of VecNormalize with the agent
log_dir = "tmp/"
os.makedirs(log_dir, exist_ok=True)
model.save(log_dir + "ppo_pendulum")
stats_path = os.path.join(log_dir, "vec_normalize.pkl")
env.save(stats_path)

del model, env

# Load the agent and the statistics
model = PPO2.load(log_dir + "ppo_pendulum")
env = DummyVecEnv([lambda: gym.make("Pendulum-v0")])
env = VecNormalize.load(stats_path, env)
# Do not update the statistics at test time, and report the true rewards
env.training = False
env.norm_reward = False

obs = env.reset()
episode_reward = 0.0
for _ in range(200):
    action, _ = model.predict(obs, deterministic=True)
    obs, reward, done, _ = env.step(action)
    episode_reward += reward[0]
print("normalized obs mean {}, one episode reward {:.1f}".format(env.obs_rms.mean.round(2), episode_reward))

"""SB2 guide "Examples: Atari Games" and "Continual Learning", with PPO2 (the first uses ACER).

make_atari_env does the DeepMind preprocessing (no-op resets, frame skipping, 84x84 grey frames, clipped
rewards) and VecFrameStack stacks the last 4 frames. Needs ale-py and OpenCV
(pip install "stable_ppo2[atari]"). Budgets are a few hundred steps instead of 25000 and 10000.
"""
from stable_baselines.common.cmd_util import make_atari_env
from stable_baselines.common.vec_env import VecFrameStack
from stable_baselines import PPO2

# 4 Pong envs with the Atari preprocessing, and frame stacking
env = make_atari_env('PongNoFrameskip-v4', num_env=4, seed=0)
env = VecFrameStack(env, n_stack=4)

model = PPO2('CnnPolicy', env, n_steps=64, verbose=1)
model.learn(total_timesteps=256)

obs = env.reset()
for _ in range(20):
    action, _states = model.predict(obs)
    obs, rewards, dones, info = env.step(action)
    env.render()
print("Pong observations:", obs.shape)
env.close()

# Continual learning: train on one game, then go on with another (same number of envs and actions)
env = make_atari_env('DemonAttackNoFrameskip-v4', num_env=4, seed=0)
model = PPO2('CnnPolicy', env, n_steps=64, verbose=1)
model.learn(total_timesteps=256)
env.close()

env = make_atari_env('SpaceInvadersNoFrameskip-v4', num_env=4, seed=0)
model.set_env(env)
model.learn(total_timesteps=256)

obs = env.reset()
for _ in range(20):
    action, _states = model.predict(obs)
    obs, rewards, dones, info = env.step(action)
    env.render()
env.close()
print("continual learning done after", model.num_timesteps, "steps on SpaceInvaders")

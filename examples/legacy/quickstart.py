"""SB2 guide "Getting Started": train PPO2 on CartPole, then watch it; and the one-line version.

Legacy style on purpose: `import gym` (old API: reset() returns the observation, step() four values),
`from stable_baselines import ...`. Run it with:  python -m stable_ppo2.legacy examples/legacy/quickstart.py
Budgets are a few thousand steps so that it runs in seconds (the guide trains for 10000 steps).
"""
import gym

from stable_baselines.common.policies import MlpPolicy
from stable_baselines.common.vec_env import DummyVecEnv
from stable_baselines import PPO2

env = gym.make('CartPole-v1')
# PPO2 needs a vectorized env; a plain gym env is wrapped in a DummyVecEnv by the constructor,
# which is the same as:  env = DummyVecEnv([lambda: env])

model = PPO2(MlpPolicy, env, verbose=1)
model.learn(total_timesteps=2048)

obs = env.reset()
total_reward, episodes = 0.0, 0
for i in range(300):
    action, _states = model.predict(obs)
    obs, reward, done, info = env.step(action)
    total_reward += reward
    env.render()
    if done:
        episodes += 1
        obs = env.reset()
print("watched {} steps, {} finished episodes, reward {:.0f}".format(300, episodes, total_reward))

# Registered env and registered policy: one line.
model = PPO2('MlpPolicy', 'CartPole-v1').learn(1024)
assert isinstance(model.get_env(), DummyVecEnv)
print("one-liner trained for", model.num_timesteps, "steps")

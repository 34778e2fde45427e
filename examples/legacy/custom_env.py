"""SB2 guide "Using Custom Environments": an env written to the old gym API (reset() returns the
observation, step() returns obs, reward, done, info), checked with check_env and trained with PPO2.

Also: registering it with gym to make it by id, and old-style gym wrappers around it.
"""
import gym
from gym import spaces
import numpy as np

from stable_baselines import PPO2
from stable_baselines.common.env_checker import check_env
from stable_baselines.common.evaluation import evaluate_policy


class GoLeftEnv(gym.Env):
    """A corridor of `grid_size` cells; the agent starts at the right end and must reach the left one.

    Actions: 0 = left, 1 = right. Reward 1 on reaching the left end, 0 otherwise.
    """
    metadata = {'render.modes': ['console']}
    LEFT = 0
    RIGHT = 1

    def __init__(self, grid_size=10):
        super(GoLeftEnv, self).__init__()
        self.grid_size = grid_size
        self.agent_pos = grid_size - 1
        self.action_space = spaces.Discrete(2)
        self.observation_space = spaces.Box(low=0, high=self.grid_size, shape=(1,), dtype=np.float32)

    def reset(self):
        self.agent_pos = self.grid_size - 1
        return np.array([self.agent_pos]).astype(np.float32)

    def step(self, action):
        if action == self.LEFT:
            self.agent_pos -= 1
        elif action == self.RIGHT:
            self.agent_pos += 1
        else:
            raise ValueError("Received invalid action={} which is not part of the action space".format(action))
        self.agent_pos = np.clip(self.agent_pos, 0, self.grid_size - 1)
        done = bool(self.agent_pos == 0)
        reward = 1 if self.agent_pos == 0 else 0
        return np.array([self.agent_pos]).astype(np.float32), reward, done, {}

    def render(self, mode='console'):
        if mode != 'console':
            raise NotImplementedError()
        print("." * self.agent_pos + "x" + "." * (self.grid_size - 1 - self.agent_pos))

    def close(self):
        pass


class ShortEpisodes(gym.Wrapper):
    """Old-style wrapper: end episodes after `max_steps` steps, as gym's TimeLimit does."""
    def __init__(self, env, max_steps=30):
        super(ShortEpisodes, self).__init__(env)
        self.max_steps = max_steps
        self.current_step = 0

    def reset(self, **kwargs):
        self.current_step = 0
        return self.env.reset(**kwargs)

    def step(self, action):
        self.current_step += 1
        obs, reward, done, info = self.env.step(action)
        if self.current_step >= self.max_steps:
            done = True
            info['TimeLimit.truncated'] = True
        return obs, reward, done, info


class ScaledObservation(gym.ObservationWrapper):
    """Old-style observation wrapper: positions scaled to [0, 1]."""
    def __init__(self, env):
        super(ScaledObservation, self).__init__(env)
        self.observation_space = spaces.Box(low=0.0, high=1.0, shape=(1,), dtype=np.float32)

    def observation(self, obs):
        return (obs / self.env.grid_size).astype(np.float32)


env = GoLeftEnv()
# Check that the env follows the (old) gym interface
check_env(env, warn=True)

obs = env.reset()
env.render()
n_steps = 3
for step in range(n_steps):
    obs, reward, done, info = env.step(GoLeftEnv.LEFT)
    print('obs=', obs, 'reward=', reward, 'done=', done)
    env.render()

env = ScaledObservation(ShortEpisodes(GoLeftEnv(grid_size=10)))
model = PPO2('MlpPolicy', env, n_steps=128, verbose=0, seed=0)
mean_before, _ = evaluate_policy(model, env, n_eval_episodes=5)
model.learn(total_timesteps=5000)
mean_after, _ = evaluate_policy(model, env, n_eval_episodes=5)
# The shortest way is 9 steps to the left
obs = env.reset()
steps = 0
done = False
while not done:
    action, _ = model.predict(obs, deterministic=True)
    obs, reward, done, info = env.step(action)
    steps += 1
print("mean reward before {:.2f}, after {:.2f}; the trained agent reaches the goal in {} steps".format(
    mean_before, mean_after, steps))
assert mean_after > 0.5, "PPO2 did not learn to go left"

# Register the env with gym and make it by id
gym.envs.register(id='GoLeft-v0', entry_point=GoLeftEnv, max_episode_steps=50, kwargs={'grid_size': 5})
env = gym.make('GoLeft-v0')
print("made by id:", env.spec.id, "first observation", env.reset())
model = PPO2('MlpPolicy', 'GoLeft-v0', n_steps=64).learn(256)
print("trained on the registered id for", model.num_timesteps, "steps")

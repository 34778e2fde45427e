"""SB2 guide "Pre-Training (Behavior Cloning)": record expert trajectories (from a PPO2 agent, the guide
uses DQN, and from a function), then pretrain a PPO2 model on them.
"""
import gym

from stable_baselines import PPO2
from stable_baselines.gail import generate_expert_traj, ExpertDataset

# An RL agent as the expert: train it for n_timesteps, then record 10 episodes in expert_cartpole.npz
model = PPO2('MlpPolicy', 'CartPole-v1', verbose=1)
generate_expert_traj(model, 'expert_cartpole', n_timesteps=2048, n_episodes=10)

# Any function of the observation can be the expert, here a random one;
# the env must then be given explicitly
env = gym.make("CartPole-v1")


def dummy_expert(_obs):
    """Random agent: a random action of the env's action space."""
    return env.action_space.sample()


generate_expert_traj(dummy_expert, 'dummy_expert_cartpole', env, n_episodes=10)

# Behaviour cloning from the first expert, on one trajectory
dataset = ExpertDataset(expert_path='expert_cartpole.npz', traj_limitation=1, batch_size=128)

model = PPO2('MlpPolicy', 'CartPole-v1', verbose=1)
model.pretrain(dataset, n_epochs=100)

# The RL training could go on from here:
# model.learn(int(1e5))

env = model.get_env()
obs = env.reset()

reward_sum = 0.0
for _ in range(300):
    action, _ = model.predict(obs)
    obs, reward, done, _ = env.step(action)
    reward_sum += reward
    env.render()
    if done:
        print(reward_sum)
        reward_sum = 0.0
        obs = env.reset()

env.close()

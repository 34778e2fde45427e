"""SB2 guide "Examples: Basic Usage: Training, Saving, Loading", with PPO2 in place of DQN.

LunarLander-v2 is what SB2 knew; gymnasium only has LunarLander-v3 now and the compatibility gym maps
the id. Needs box2d (pip install "stable_ppo2[box2d]").
"""
import gym

from stable_baselines import PPO2
from stable_baselines.common.evaluation import evaluate_policy

# Create the environment
env = gym.make('LunarLander-v2')

# Instantiate and train the agent
model = PPO2('MlpPolicy', env, learning_rate=1e-3, n_steps=256, verbose=1)
model.learn(total_timesteps=2048)
# Save it, forget it
model.save("ppo2_lunar")
del model

# Load it again (the env is not saved with the model)
model = PPO2.load("ppo2_lunar")

# Evaluate the agent on the env
mean_reward, std_reward = evaluate_policy(model, env, n_eval_episodes=2)
print("mean reward {:.1f} +/- {:.1f}".format(mean_reward, std_reward))

# Enjoy the trained agent
obs = env.reset()
for i in range(200):
    action, _states = model.predict(obs)
    obs, rewards, dones, info = env.step(action)
    env.render()
    if dones:
        obs = env.reset()
env.close()

"""SB2 guide "Examples: Accessing and modifying model parameters": a small evolution strategy on the
policy weights of a PPO2 model (the guide starts from A2C), with get_parameters/load_parameters.

The population and the number of iterations are tiny here so that it runs in seconds.
"""
import gym
import numpy as np

from stable_baselines import PPO2


def mutate(params):
    """Add normal noise to every parameter."""
    return dict((name, param + np.random.normal(size=param.shape)) for name, param in params.items())


def evaluate(env, model, episodes=3):
    """Mean return of `model` over a few episodes of `env`."""
    episode_rewards = []
    for _ in range(episodes):
        reward_sum = 0
        done = False
        obs = env.reset()
        while not done:
            action, _states = model.predict(obs)
            obs, reward, done, info = env.step(action)
            reward_sum += reward
        episode_rewards.append(reward_sum)
    return np.mean(episode_rewards)


env = gym.make('CartPole-v1')
model = PPO2('MlpPolicy', env, ent_coef=0.0, learning_rate=0.01, policy_kwargs={'net_arch': [8, ]})
# A few policy-gradient updates give the starting point
model.learn(total_timesteps=1024)

mean_params = model.get_parameters()
# Only the policy (/pi/) and shared (/shared) variables change the actions
mean_params = dict((key, value) for key, value in mean_params.items() if ("/pi/" in key or "/shared" in key))
print("evolved parameters:", sorted(mean_params))

for iteration in range(2):
    population = []
    for population_i in range(6):
        candidate = mutate(mean_params)
        # Only the given parameters change
        model.load_parameters(candidate, exact_match=False)
        fitness = evaluate(env, model)
        population.append((candidate, fitness))
    top_candidates = sorted(population, key=lambda x: x[1], reverse=True)[:2]
    mean_params = dict((name, np.stack([top[0][name] for top in top_candidates]).mean(0))
                       for name in mean_params.keys())
    mean_fitness = sum(top[1] for top in top_candidates) / 2.0
    print("Iteration {:<3} Mean top fitness: {:.2f}".format(iteration, mean_fitness))

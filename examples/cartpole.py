"""SB2's documented PPO2 quick start, unchanged but for the package name.

Train on 4 CartPole envs, save, delete, load, then watch the agent act with ``predict``.
Run: ``python examples/cartpole.py``
"""
import os
import tempfile

from stable_ppo2 import PPO2
from stable_ppo2.common import make_vec_env
from stable_ppo2.common.evaluation import evaluate_policy
from stable_ppo2.common.policies import MlpPolicy


def main(total_timesteps: int = 25000) -> None:
    env = make_vec_env("CartPole-v1", n_envs=4)

    model = PPO2(MlpPolicy, env, verbose=1)
    model.learn(total_timesteps=total_timesteps)
    path = os.path.join(tempfile.mkdtemp(), "ppo2_cartpole")
    model.save(path)

    del model  # remove to demonstrate saving and loading
    model = PPO2.load(path)

    obs = env.reset()
    total_reward = 0.0
    for _ in range(1000):
        action, _states = model.predict(obs)
        obs, rewards, dones, info = env.step(action)
        total_reward += float(rewards.sum())
    print(f"reward collected by 4 envs over 1000 steps: {total_reward:.0f}")
    mean_reward, std_reward = evaluate_policy(model, make_vec_env("CartPole-v1", n_envs=1),
                                              n_eval_episodes=10)
    print(f"evaluation: {mean_reward:.1f} +/- {std_reward:.1f}")


if __name__ == "__main__":
    main()

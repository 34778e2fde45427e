"""SB2 guide "Examples: Using Callback: Monitoring Training" and the results plotter, with PPO2
(the guide uses DDPG with parameter noise, which stable_ppo2 does not port).

A callback reads the Monitor file every `check_freq` steps and saves the model whenever the mean
training reward improves; at the end the learning curve is drawn with results_plotter.
LunarLanderContinuous-v2 runs as gymnasium's LunarLanderContinuous-v3 (needs box2d).
"""
import os

import gym
import numpy as np
import matplotlib.pyplot as plt

from stable_baselines import PPO2
from stable_baselines import results_plotter
from stable_baselines.bench import Monitor
from stable_baselines.results_plotter import load_results, ts2xy
from stable_baselines.common.callbacks import BaseCallback


class SaveOnBestTrainingRewardCallback(BaseCallback):
    """Every `check_freq` calls, compare the mean reward of the last 100 monitored episodes with the best
    so far and save the model when it is better.

    :param check_freq: (int)
    :param log_dir: (str) folder of the Monitor file; the model goes to log_dir/best_model
    :param verbose: (int)
    """
    def __init__(self, check_freq, log_dir, verbose=1):
        super(SaveOnBestTrainingRewardCallback, self).__init__(verbose)
        self.check_freq = check_freq
        self.log_dir = log_dir
        self.save_path = os.path.join(log_dir, 'best_model')
        self.best_mean_reward = -np.inf

    def _init_callback(self):
        if self.save_path is not None:
            os.makedirs(self.save_path, exist_ok=True)

    def _on_step(self):
        if self.n_calls % self.check_freq == 0:
            x, y = ts2xy(load_results(self.log_dir), 'timesteps')
            if len(x) > 0:
                mean_reward = np.mean(y[-100:])
                if self.verbose > 0:
                    print("Num timesteps: {}".format(self.num_timesteps))
                    print("Best mean reward: {:.2f} - Last mean reward per episode: {:.2f}".format(
                        self.best_mean_reward, mean_reward))
                if mean_reward > self.best_mean_reward:
                    self.best_mean_reward = mean_reward
                    if self.verbose > 0:
                        print("Saving new best model to {}".format(self.save_path))
                    self.model.save(self.save_path)
        return True


log_dir = "tmp/"
os.makedirs(log_dir, exist_ok=True)

env = gym.make('LunarLanderContinuous-v2')
env = Monitor(env, log_dir)

model = PPO2('MlpPolicy', env, n_steps=512, verbose=0)
callback = SaveOnBestTrainingRewardCallback(check_freq=1000, log_dir=log_dir)
time_steps = 4096
model.learn(total_timesteps=int(time_steps), callback=callback)

results_plotter.plot_results([log_dir], time_steps, results_plotter.X_TIMESTEPS, "PPO2 LunarLander")
plt.savefig(os.path.join(log_dir, "learning_curve.png"))
plt.show()
print("best mean reward {:.2f}, model saved: {}".format(
    callback.best_mean_reward, os.path.exists(os.path.join(log_dir, "best_model.zip"))))

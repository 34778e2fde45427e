"""SB2 guide "Tensorboard Integration", with PPO2 (the guide uses A2C and SAC).

Runs go to ./ppo2_cartpole_tensorboard/<tb_log_name>_<n>; view them with
tensorboard --logdir ./ppo2_cartpole_tensorboard/

One change from the guide: logging more values from a callback uses TensorFlow 2's tf.summary with the
run's writer (self.locals['writer']); SB2's version builds TF1 graph summaries (tf.Summary,
model.graph.as_default(), writer.add_summary), which TensorFlow 2 does not have.
"""
import os

import gym
import numpy as np
import tensorflow as tf

from stable_baselines import PPO2
from stable_baselines.common.callbacks import BaseCallback
from stable_baselines.common.vec_env import DummyVecEnv

model = PPO2('MlpPolicy', 'CartPole-v1', verbose=1, tensorboard_log="./ppo2_cartpole_tensorboard/")
model.learn(total_timesteps=1024)
model.save("ppo2_cartpole.pkl", cloudpickle=True)

# After loading (the log folder is not saved with the model)
env = gym.make('CartPole-v1')
env = DummyVecEnv([lambda: env])
model = PPO2.load("./ppo2_cartpole.pkl", env=env, tensorboard_log="./ppo2_cartpole_tensorboard/")
model.learn(total_timesteps=1024)

# Named runs; reset_num_timesteps=False continues the curve of the previous run
model = PPO2('MlpPolicy', 'CartPole-v1', verbose=1, tensorboard_log="./ppo2_cartpole_tensorboard/")
model.learn(total_timesteps=1024, tb_log_name="first_run")
model.learn(total_timesteps=1024, tb_log_name="second_run", reset_num_timesteps=False)
model.learn(total_timesteps=1024, tb_log_name="third_run", reset_num_timesteps=False)
print("runs:", sorted(os.listdir("./ppo2_cartpole_tensorboard/")))


class TensorboardCallback(BaseCallback):
    """Log an extra scalar (here a random value) at every step."""
    def __init__(self, verbose=0):
        super(TensorboardCallback, self).__init__(verbose)

    def _on_step(self):
        value = np.random.random()
        with self.locals['writer'].as_default():
            tf.summary.scalar('random_value', value, step=self.num_timesteps)
        return True


model = PPO2("MlpPolicy", "Pendulum-v0", tensorboard_log="./ppo2_pendulum_tensorboard/", verbose=1)
model.learn(512, callback=TensorboardCallback())

# Legacy integration: the logger writes what it prints to TensorBoard too
os.environ['OPENAI_LOG_FORMAT'] = 'stdout,log,csv,tensorboard'
os.environ['OPENAI_LOGDIR'] = os.path.abspath('./openai_log')

from stable_baselines.logger import configure  # noqa: E402

configure()
model = PPO2('MlpPolicy', 'CartPole-v1', verbose=1)
model.learn(total_timesteps=512)
print("logger files:", sorted(os.listdir('./openai_log')))

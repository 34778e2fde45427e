"""SB2 guide "Callbacks", with PPO2 everywhere (the guide uses SAC for most of them):
a custom callback with every hook, CheckpointCallback, EvalCallback, CallbackList,
StopTrainingOnRewardThreshold, EveryNTimesteps, and the deprecated functional callback.

Pendulum-v0 runs as gymnasium's Pendulum-v1. Budgets are small.
"""
import os

import gym

from stable_baselines import PPO2
from stable_baselines.common.callbacks import (BaseCallback, CallbackList, CheckpointCallback, EvalCallback,
                                               EveryNTimesteps, StopTrainingOnRewardThreshold)


class CustomCallback(BaseCallback):
    """Counts the events; the base class gives self.model, self.training_env, self.n_calls,
    self.num_timesteps, self.locals, self.globals, self.logger and self.parent."""
    def __init__(self, verbose=0):
        super(CustomCallback, self).__init__(verbose)
        self.events = dict(training_start=0, rollout_start=0, step=0, rollout_end=0, training_end=0)

    def _on_training_start(self):
        self.events["training_start"] += 1
        assert self.training_env is self.model.get_env()

    def _on_rollout_start(self):
        self.events["rollout_start"] += 1

    def _on_step(self):
        self.events["step"] += 1
        return True

    def _on_rollout_end(self):
        self.events["rollout_end"] += 1

    def _on_training_end(self):
        self.events["training_end"] += 1


custom = CustomCallback()
model = PPO2('MlpPolicy', 'CartPole-v1', n_steps=128)
model.learn(1024, callback=custom)
print("events:", custom.events, "num_timesteps", custom.num_timesteps)

# Save a checkpoint every 500 steps
checkpoint_callback = CheckpointCallback(save_freq=500, save_path='./logs/', name_prefix='rl_model')
model = PPO2('MlpPolicy', 'Pendulum-v0')
model.learn(1024, callback=checkpoint_callback)
print("checkpoints:", sorted(os.listdir('./logs/')))

# Evaluate every 500 steps on a separate env, keep the best model and the evaluations
eval_env = gym.make('Pendulum-v0')
eval_callback = EvalCallback(eval_env, best_model_save_path='./logs/', log_path='./logs/', eval_freq=500,
                             n_eval_episodes=2, deterministic=True, render=False)
model = PPO2('MlpPolicy', 'Pendulum-v0')
model.learn(1024, callback=eval_callback)
print("best model saved:", os.path.exists('./logs/best_model.zip'), "evaluations:",
      os.path.exists('./logs/evaluations.npz'))

# Chain callbacks (a list works too)
checkpoint_callback = CheckpointCallback(save_freq=500, save_path='./logs/')
eval_env = gym.make('Pendulum-v0')
eval_callback = EvalCallback(eval_env, best_model_save_path='./logs/best_model', log_path='./logs/results',
                             eval_freq=500, n_eval_episodes=2)
callback = CallbackList([checkpoint_callback, eval_callback])
model = PPO2('MlpPolicy', 'Pendulum-v0')
model.learn(1024, callback=callback)

# Stop when the mean evaluation reward passes a threshold (low here, so that it stops at once)
eval_env = gym.make('Pendulum-v0')
callback_on_best = StopTrainingOnRewardThreshold(reward_threshold=-2000, verbose=1)
eval_callback = EvalCallback(eval_env, callback_on_new_best=callback_on_best, eval_freq=256, n_eval_episodes=1,
                             verbose=1)
model = PPO2('MlpPolicy', 'Pendulum-v0', verbose=1)
model.learn(int(1e10), callback=eval_callback)
print("stopped early after", model.num_timesteps, "steps")
assert model.num_timesteps < 1e6

# Trigger a child callback every 500 steps
checkpoint_on_event = CheckpointCallback(save_freq=1, save_path='./logs/events/')
event_callback = EveryNTimesteps(n_steps=500, callback=checkpoint_on_event)
model = PPO2('MlpPolicy', 'Pendulum-v0', verbose=1)
model.learn(int(2048), callback=event_callback)
print("event checkpoints:", len(os.listdir('./logs/events/')))


# Deprecated: a function of (locals, globals) returning whether to go on
def simple_callback(_locals, _globals):
    print("callback called")
    _locals["self"].save("saved_model")
    print("stop training")
    return False


model = PPO2('MlpPolicy', 'CartPole-v1')
model.learn(2000, callback=simple_callback)
print("saved by the functional callback:", os.path.exists("saved_model.zip"))

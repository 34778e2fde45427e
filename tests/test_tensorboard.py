"""TensorBoard run folders and tags (SB2's test_tensorboard)."""
import os

import numpy as np

from stable_ppo2 import PPO2, logger
from stable_ppo2.common.tensorboard import total_episode_reward_logger
from stable_ppo2.common.tf_util import tf


def _tags(run_dir):
    tags = set()
    for name in os.listdir(run_dir):
        for event in tf.compat.v1.train.summary_iterator(os.path.join(run_dir, name)):
            tags.update(value.tag for value in event.summary.value)
    return tags


def test_reset_num_timesteps_false_continues_the_run(tmp_path):
    model = PPO2("MlpPolicy", "CartPole-v1", n_steps=64, verbose=1, tensorboard_log=str(tmp_path))
    model.learn(128)
    model.learn(128, reset_num_timesteps=False)
    assert os.listdir(tmp_path) == ["PPO2_1"]
    tags = _tags(tmp_path / "PPO2_1")
    assert {"loss/entropy_loss", "loss/policy_gradient_loss", "loss/value_function_loss",
            "loss/approximate_kullback-leibler", "loss/clip_factor", "loss/loss",
            "input_info/learning_rate", "input_info/clip_range", "input_info/clip_range_vf",
            "input_info/discounted_rewards"} <= tags
    logger.set_level(logger.INFO)


def test_each_new_learn_call_makes_a_new_run(tmp_path):
    model = PPO2("MlpPolicy", "CartPole-v1", n_steps=64, tensorboard_log=str(tmp_path))
    model.learn(64, tb_log_name="custom")
    model.learn(64, tb_log_name="custom")
    assert sorted(os.listdir(tmp_path)) == ["custom_1", "custom_2"]


def test_episode_rewards_are_written_at_episode_ends(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    rewards = np.ones((2, 5), np.float32)
    masks = np.array([[0, 0, 1, 0, 0], [0, 0, 0, 0, 0]], bool)
    acc = total_episode_reward_logger(np.array([10.0, 0.0]), rewards, masks, writer, steps=100)
    writer.flush()
    values = [(event.step, value.simple_value if value.HasField("simple_value") else
               float(tf.make_ndarray(value.tensor)))
              for name in os.listdir(tmp_path)
              for event in tf.compat.v1.train.summary_iterator(os.path.join(tmp_path, name))
              for value in event.summary.value]
    assert values == [(102, 12.0)]
    np.testing.assert_allclose(acc, [3.0, 5.0])


def test_learn_writes_episode_rewards_and_full_log_histograms(tmp_path):
    model = PPO2("MlpPolicy", "CartPole-v1", n_steps=64, seed=0, tensorboard_log=str(tmp_path),
                 full_tensorboard_log=True)
    model.learn(256)
    run_dir = tmp_path / "PPO2_1"
    steps, kinds = {}, {}
    for name in os.listdir(run_dir):
        for event in tf.compat.v1.train.summary_iterator(os.path.join(run_dir, name)):
            for value in event.summary.value:
                steps.setdefault(value.tag, []).append(event.step)
                kinds[value.tag] = value.metadata.plugin_data.plugin_name
    assert steps["loss/loss"] == [64, 128, 192, 256]  # one point per update, at num_timesteps
    assert len(steps["episode_reward"]) >= 5  # random CartPole episodes last ~20 steps
    assert all(64 <= step <= 256 + 64 for step in steps["episode_reward"])
    assert kinds["episode_reward"] == "scalars"
    for name in model.get_parameters():  # SB2's parameter names, as histograms
        assert kinds[name] == "histograms" and steps[name] == [64, 128, 192, 256]

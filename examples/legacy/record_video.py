"""SB2 guide "Examples: Record a Video": a random agent on CartPole filmed with VecVideoRecorder.

Writes logs/videos/random-agent-CartPole-v1-step-0-to-step-100.mp4 (imageio with its ffmpeg plugin).
"""
import gym
from stable_baselines.common.vec_env import VecVideoRecorder, DummyVecEnv

env_id = 'CartPole-v1'
video_folder = 'logs/videos/'
video_length = 100

env = DummyVecEnv([lambda: gym.make(env_id)])

obs = env.reset()

# Record the video starting at the first step
env = VecVideoRecorder(env, video_folder,
                       record_video_trigger=lambda x: x == 0, video_length=video_length,
                       name_prefix="random-agent-{}".format(env_id))

env.reset()
for _ in range(video_length + 1):
    action = [env.action_space.sample()]
    obs, _, _, _ = env.step(action)
# Save the video
env.close()
print("video:", env.video_path)

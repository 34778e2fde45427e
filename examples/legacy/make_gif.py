"""SB2 guide "Examples: Bonus: Make a GIF of a Trained Agent" (PPO2 in place of A2C), with imageio.

LunarLander-v2 runs as gymnasium's LunarLander-v3 (needs box2d); the frames come from
model.env.render(mode='rgb_array').
"""
import imageio
import numpy as np

from stable_baselines import PPO2

model = PPO2("MlpPolicy", "LunarLander-v2").learn(1024)

images = []
obs = model.env.reset()
img = model.env.render(mode='rgb_array')
for i in range(40):
    images.append(img)
    action, _ = model.predict(obs)
    obs, _, _, _ = model.env.step(action)
    img = model.env.render(mode='rgb_array')

imageio.mimsave('lander_ppo2.gif', [np.array(img) for i, img in enumerate(images) if i % 2 == 0], fps=29)
print("frames", len(images), images[0].shape)

"""SB2 guide "On saving and loading": the zip format (the default) and the old cloudpickle format.

The zip holds `data` (JSON of the hyperparameters; objects JSON cannot hold are base64 cloudpickle with a
readable summary), `parameters` (numpy .npz) and `parameter_list` (JSON). custom_objects replaces entries
without deserialising them.
"""
import json
import zipfile

import numpy as np

from stable_baselines import PPO2

model = PPO2('MlpPolicy', 'CartPole-v1', n_steps=64).learn(256)

# Zip archive (stable-baselines > 2.7.0)
model.save("ppo2_cartpole")
with zipfile.ZipFile("ppo2_cartpole.zip") as archive:
    print("zip entries:", archive.namelist())
    data = json.loads(archive.read("data").decode())
    parameter_list = json.loads(archive.read("parameter_list").decode())
print("stored gamma:", data["gamma"], "- policy stored as", data["policy"][":type:"])
print("parameters:", parameter_list[:3], "...")

# Old format: one cloudpickle of (data, parameters) (stable-baselines <= 2.7.0)
model.save("ppo2_cartpole_legacy", cloudpickle=True)

for path in ("ppo2_cartpole.zip", "ppo2_cartpole_legacy.pkl"):
    loaded = PPO2.load(path)
    same = all(np.array_equal(value, loaded.get_parameters()[name])
               for name, value in model.get_parameters().items())
    print(path, "loads with the same parameters:", same)
    assert same

# Skip deserialising an entry by providing it
loaded = PPO2.load("ppo2_cartpole", custom_objects={"learning_rate": 1e-4})
print("learning_rate replaced:", loaded.learning_rate)

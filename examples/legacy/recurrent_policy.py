"""SB2 guide "Examples: Recurrent Policies": PPO2 with an LSTM policy, tested with the state and the
episode-start mask passed back to predict(); also the attributes legacy code reads on a model.
"""
from stable_baselines import PPO2

# With recurrent policies, the number of envs must be a multiple of nminibatches
model = PPO2('MlpLstmPolicy', 'CartPole-v1', nminibatches=1, n_steps=64, verbose=1)
model.learn(1024)

env = model.get_env()
obs = env.reset()
# state=None means the initial state
state = None
done = [False for _ in range(env.num_envs)]
for _ in range(200):
    # pass the previous state, and the dones as the mask that resets it when an episode begins
    action, state = model.predict(obs, state=state, mask=done)
    obs, reward, done, _ = env.step(action)
    env.render()

# Attributes legacy code reads
print("n_envs", model.n_envs, "num_timesteps", model.num_timesteps, "policy", model.policy.__name__)
print("initial_state", model.initial_state.shape, "act_model", type(model.act_model).__name__,
      "env", type(model.env).__name__, "n_batch", model.n_batch)
assert model.initial_state.shape == (1, 2 * 256) and model.env is env

"""Expert data: :class:`ExpertDataset`, :class:`DataLoader` and :func:`generate_expert_traj`."""
from stable_ppo2.gail.dataset.dataset import DataLoader, ExpertDataset
from stable_ppo2.gail.dataset.record_expert import generate_expert_traj

__all__ = ["DataLoader", "ExpertDataset", "generate_expert_traj"]

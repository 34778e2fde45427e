"""SB2's ``stable_baselines.gail`` import paths for behaviour cloning (no GAIL, no MPI needed).

``ExpertDataset`` feeds ``model.pretrain``; ``generate_expert_traj`` records an expert.
"""
from stable_ppo2.gail.dataset import DataLoader, ExpertDataset, generate_expert_traj

__all__ = ["DataLoader", "ExpertDataset", "generate_expert_traj"]

"""What ``run_atari`` and ``run_mujoco`` share around SB2's argument parsers."""
from __future__ import annotations

import argparse
import os
from typing import Optional, Sequence, Tuple


def parse_and_configure(parser: argparse.ArgumentParser,
                        argv: Optional[Sequence[str]]) -> Tuple[argparse.Namespace, str]:
    """Add ``--save-path``, parse ``argv`` and configure the logger as SB2's scripts did; return the
    arguments and where the model is to be saved (``model.zip`` in the logger's folder by default)."""
    from stable_ppo2 import logger

    parser.add_argument("--save-path", default=None,
                        help="where to save the trained model (default: model.zip in the logger's folder)")
    args = parser.parse_args(argv)
    logger.configure()
    return args, args.save_path or os.path.join(logger.get_dir() or ".", "model.zip")

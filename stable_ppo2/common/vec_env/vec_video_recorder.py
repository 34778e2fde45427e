"""VecVideoRecorder: records mp4 videos of a VecEnv's rendered frames (SB2's ``vec_env.vec_video_recorder``).

Frames are ``venv.render(mode="rgb_array")`` (the tiled image of all envs) and are written as they come, with
imageio and its ffmpeg plugin (``pip install imageio imageio-ffmpeg``, part of the ``video`` extra).
"""
import json
import os
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from stable_ppo2.common.vec_env.base_vec_env import VecEnv, VecEnvWrapper


def _open_writer(path: str, fps: float):
    try:
        import imageio
    except ImportError as exc:
        raise ImportError("VecVideoRecorder needs imageio with its ffmpeg plugin: "
                          "pip install imageio imageio-ffmpeg") from exc
    try:
        return imageio.get_writer(path, fps=fps, macro_block_size=1)
    except (ImportError, ValueError, RuntimeError) as exc:
        raise ImportError("VecVideoRecorder cannot write mp4 files: install imageio's ffmpeg plugin "
                          "(pip install imageio-ffmpeg)") from exc


class VecVideoRecorder(VecEnvWrapper):
    """Records videos of ``video_length`` steps, starting when ``record_video_trigger(step_id)`` is true.

    Each video is ``{video_folder}/{name_prefix}-step-{start}-to-step-{start + video_length}.mp4`` with a
    ``.meta.json`` beside it. ``step_id`` counts VecEnv steps since the wrapper was made; ``reset()`` starts a
    recording (as SB2's did). The envs must render ``rgb_array`` frames.

    :param venv: the VecEnv to record
    :param video_folder: where the videos go (created)
    :param record_video_trigger: ``f(step_id) -> bool``, when to start a video
    :param video_length: frames per video
    :param name_prefix: start of the file names
    """

    def __init__(self, venv: VecEnv, video_folder: str, record_video_trigger: Callable[[int], bool],
                 video_length: int = 200, name_prefix: str = "rl-video") -> None:
        VecEnvWrapper.__init__(self, venv)
        self.record_video_trigger = record_video_trigger
        self.video_folder = os.path.abspath(video_folder)
        os.makedirs(self.video_folder, exist_ok=True)
        self.name_prefix = name_prefix
        self.video_length = video_length
        self.step_id = 0
        self.recording = False
        self.recorded_frames = 0
        self.video_path: Optional[str] = None
        self._writer: Any = None  # imageio's writer while recording
        self._meta: Dict[str, Any] = {}
        metadata = getattr(venv, "metadata", {}) or {}
        self.frames_per_sec = metadata.get("video.frames_per_second", metadata.get("render_fps", 30)) or 30

    def reset(self) -> Any:
        obs = self.venv.reset()
        self.start_video_recorder()
        return obs

    def start_video_recorder(self) -> None:
        """Close the running video and start one at the current step."""
        self.close_video_recorder()
        base_path = os.path.join(self.video_folder, f"{self.name_prefix}-step-{self.step_id}-to-step-"
                                                    f"{self.step_id + self.video_length}")
        self.video_path = base_path + ".mp4"
        self._meta = {"step_id": self.step_id, "content_type": "video/mp4"}
        self._writer = _open_writer(self.video_path, self.frames_per_sec)
        self.recording = True
        self.recorded_frames = 0
        self._capture_frame()

    def _capture_frame(self) -> None:
        frame = self.venv.render(mode="rgb_array")
        if frame is None:
            raise ValueError(f"VecVideoRecorder: {self.venv} returned no rgb_array frame to record")
        self._writer.append_data(np.asarray(frame, dtype=np.uint8))
        self.recorded_frames += 1

    def _video_enabled(self) -> bool:
        return bool(self.record_video_trigger(self.step_id))

    def step_wait(self) -> Tuple[Any, np.ndarray, np.ndarray, Any]:
        obs, rewards, dones, infos = self.venv.step_wait()
        self.step_id += 1
        if self.recording:
            self._capture_frame()
            if self.recorded_frames > self.video_length:
                self.close_video_recorder()
        elif self._video_enabled():
            self.start_video_recorder()
        return obs, rewards, dones, infos

    def close_video_recorder(self) -> None:
        """Finish the running video (if any) and write its ``.meta.json``."""
        if self.recording and self._writer is not None and self.video_path is not None:
            self._writer.close()
            with open(self.video_path[:-len(".mp4")] + ".meta.json", "w") as meta_file:
                json.dump(dict(self._meta, frames=self.recorded_frames), meta_file)
        self._writer = None
        self.recording = False
        self.recorded_frames = 0

    def close(self) -> None:
        VecEnvWrapper.close(self)
        self.close_video_recorder()

    def __del__(self) -> None:
        try:
            self.close_video_recorder()
        except Exception:  # pylint: disable=broad-except  (interpreter shutdown)
            pass

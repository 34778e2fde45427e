"""Image observations stored as image files (expert datasets of image envs): OpenCV, imported
only when such files are read or written."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

CV2_HINT = "pip install opencv-python-headless"


def import_cv2() -> Any:
    """OpenCV, needed only for image observations (written and read as image files)."""
    try:
        import cv2  # pylint: disable=import-outside-toplevel
    except ImportError as error:
        raise ImportError("Image observations are stored as image files, which needs OpenCV: "
                          f"{CV2_HINT}") from error
    return cv2


def read_image(image_path: str) -> np.ndarray:
    """One image as a ``(1, H, W, C)`` RGB array (grey images get a channel axis)."""
    cv2 = import_cv2()
    image = cv2.imread(str(image_path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"Tried to load {image_path}, but it was not found")
    if image.ndim == 2:
        image = image[:, :, np.newaxis]
    if image.shape[-1] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return image.reshape((1,) + image.shape)


def read_images(paths: Sequence[str]) -> np.ndarray:
    """The images at ``paths`` stacked along the first axis."""
    return np.concatenate([read_image(path) for path in paths], axis=0)

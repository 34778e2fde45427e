"""stable_ppo2: Stable-Baselines 2 PPO2 on TensorFlow 2, gymnasium and current Python."""
import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "README.md"), encoding="utf-8") as readme:
    LONG_DESCRIPTION = readme.read()

setup(
    name="stable_ppo2",
    version="0.1.0",
    description="Stable-Baselines 2 PPO2 ported to TensorFlow 2 / Keras, gymnasium and Python 3.11",
    long_description=LONG_DESCRIPTION,
    long_description_content_type="text/markdown",
    packages=find_packages(include=["stable_ppo2", "stable_ppo2.*"]),
    package_data={"stable_ppo2": ["py.typed"], "stable_ppo2.zoo": ["ppo2.yml"]},
    entry_points={"console_scripts": ["stable-ppo2=stable_ppo2.cli:main"]},
    python_requires=">=3.9",
    install_requires=[
        "tensorflow>=2.16,<2.22",
        "tensorflow-probability[tf]>=0.24,<0.26",
        "gymnasium[classic-control]>=1.0,<1.5",
        "numpy>=1.26,<3",
        "cloudpickle>=3.0,<4",
        "threadpoolctl>=3.1",
        "tensorboard>=2.16",
        "pandas>=2.0",
        "matplotlib>=3.7",
        "tqdm>=4.60",
        "pyyaml>=5.4",
        "plotly>=5.0",
    ],
    extras_require={
        "atari": ["gymnasium[atari]>=1.0,<1.5", "ale-py>=0.9", "opencv-python-headless>=4.8"],
        "box2d": ["gymnasium[box2d]>=1.0,<1.5"],
        "mujoco": ["gymnasium[mujoco]>=1.0,<1.5"],
        "ray": ["ray>=2.9"],
        "envpool": ["envpool>=1.2; platform_system != 'Windows'"],
        # the tests cover Atari, MuJoCo, Box2D (legacy scripts), video recording, Ray and envpool too
        "tests": ["pytest>=7", "pytest-timeout>=2.1", "pyyaml>=6", "moviepy>=1.0.3", "ale-py>=0.9",
                  "opencv-python-headless>=4.8", "gymnasium[mujoco,box2d]>=1.0,<1.5", "imageio-ffmpeg>=0.4",
                  "ray>=2.9", "envpool>=1.2; platform_system != 'Windows'", "optuna>=3.4", "rliable>=1.0",
                  # the legacy startup hook's test runs a notebook in a kernel of a fresh venv
                  "nbclient>=0.7", "nbformat>=5.7", "ipykernel>=6.0", "jupyter-client>=7.0",
                  # CI lints and type-checks the package before the tests
                  "ruff>=0.17,<0.18", "mypy>=2.4,<2.5"],
        "video": ["moviepy>=1.0.3"],
        "tune": ["optuna>=3.4"],
        "plots": ["rliable>=1.0"],
    },
    license="MIT",
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)

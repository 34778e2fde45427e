"""Adam exactly as SB2's ``tf.train.AdamOptimizer`` (TF1's "epsilon hat" form, fused TF kernel),
used by PPO2's update and by behaviour cloning."""
from __future__ import annotations

from typing import List, Optional, Sequence, Union

from stable_ppo2.common.tf_util import tf


class Tf1Adam:
    """TF1's Adam over ``variables``. Its state is never saved (as in SB2): a loaded model
    restarts with zero moments, and :meth:`reset` restarts it.

    The learning rate (and, if given, epsilon) may be tensors passed at each step, so one traced
    function serves every value.
    """

    def __init__(self, variables: Sequence[tf.Variable], beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8) -> None:
        self.variables = list(variables)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.first_moments = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.variables]
        self.second_moments = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.variables]
        self.beta1_power = tf.Variable(beta1, dtype=tf.float32, trainable=False)
        self.beta2_power = tf.Variable(beta2, dtype=tf.float32, trainable=False)

    def state_variables(self) -> List[tf.Variable]:
        return self.first_moments + self.second_moments + [self.beta1_power, self.beta2_power]

    def reset(self) -> None:
        """Zero moments, as a new optimizer."""
        for slot in self.first_moments + self.second_moments:
            slot.assign(tf.zeros_like(slot))
        self.beta1_power.assign(self.beta1)
        self.beta2_power.assign(self.beta2)

    def apply(self, gradients: Sequence[tf.Tensor], learning_rate: Union[float, tf.Tensor],
              epsilon: Optional[tf.Tensor] = None) -> None:
        """One Adam step (``epsilon``: this step's, default the optimizer's)."""
        epsilon = self.epsilon if epsilon is None else epsilon
        for variable, m, v, grad in zip(self.variables, self.first_moments, self.second_moments,
                                        gradients):
            tf.raw_ops.ResourceApplyAdam(
                var=variable.handle, m=m.handle, v=v.handle, beta1_power=self.beta1_power,
                beta2_power=self.beta2_power, lr=learning_rate, beta1=self.beta1, beta2=self.beta2,
                epsilon=epsilon, grad=grad, use_locking=False)
        self.beta1_power.assign(self.beta1_power * self.beta1)
        self.beta2_power.assign(self.beta2_power * self.beta2)

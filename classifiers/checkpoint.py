"""The best-checkpoint keeper of a run: best-epoch selection and early stopping."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["BestCheckpoint"]


class BestCheckpoint:
    """Keeps a copy of the weights of the best epoch so far and says when to stop.

    An epoch is better than the best so far when its validation accuracy is higher, or
    equal with a lower validation loss; the first epoch is always kept. After
    ``patience`` epochs in a row without a better one, :attr:`should_stop` becomes True
    (``patience=0``: never).

    Parameters
    ----------
    patience : int
        ≥ 0.

    Attributes
    ----------
    epoch : int
        The best epoch (0 before the first update).
    val_acc, val_loss : float
        Its validation accuracy and loss (NaN and inf before the first update).
    since_best : int
        Epochs since the best one.

    Examples
    --------
    >>> net = nn.Linear(2, 1)
    >>> keeper = BestCheckpoint(patience=1)
    >>> keeper.update(net, epoch=1, val_acc=0.5, val_loss=1.0)
    True
    >>> _ = net.weight.data.fill_(7.0)
    >>> keeper.update(net, epoch=2, val_acc=0.5, val_loss=1.2), keeper.should_stop
    (False, True)
    >>> keeper.restore(net); keeper.epoch, bool((net.weight == 7.0).any())
    (1, False)
    """

    def __init__(self, *, patience: int) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be an integer ≥ 0; got {patience!r}")
        self.patience = patience
        self.epoch = 0
        self.val_acc = math.nan
        self.val_loss = math.inf
        self.since_best = 0
        self._state: dict[str, torch.Tensor] | None = None

    def update(self, model: nn.Module, *, epoch: int, val_acc: float, val_loss: float) -> bool:
        """Record an epoch's validation result; keep ``model``'s weights when it is the best.

        Returns
        -------
        bool
            Whether this epoch is the new best.
        """
        better = (
            self._state is None
            or val_acc > self.val_acc
            or (val_acc == self.val_acc and val_loss < self.val_loss)
        )
        if better:
            self._state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            self.epoch, self.val_acc, self.val_loss = epoch, val_acc, val_loss
            self.since_best = 0
        else:
            self.since_best += 1
        return better

    @property
    def should_stop(self) -> bool:
        """Whether ``patience`` epochs have passed without a better one."""
        return bool(self.patience) and self.since_best >= self.patience

    def restore(self, model: nn.Module) -> None:
        """Load the best epoch's weights into ``model``."""
        if self._state is None:
            raise RuntimeError("no epoch was recorded: nothing to restore")
        model.load_state_dict(self._state)

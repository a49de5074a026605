"""The estimators whose model is a steepest.nn.Sequential (``model_``): MLPs and sequence models.
Their shared hyperparameters (dropout, weight_decay, optimizer, lr_schedule) and training: one
epoch at a time by ``Sequential.fit`` with an optimizer kept by the estimator (so its state
survives epochs, partial_fit calls and warm starts of the weights), an lr schedule stepped per
epoch, and the estimators' stopping rule and callbacks (_base.py)."""

from . import _checks
from ._base import GradientDescentEstimator
from ._optim import RULES, SCHEDULES, make_optimizer, make_scheduler


class NetworkEstimator(GradientDescentEstimator):
    def _check_network_params(self):
        self._check_common()
        _checks.real(self, "dropout", 0.0, 1.0, high_open=True)
        _checks.real(self, "weight_decay", 0.0)
        _checks.choice(self, "optimizer", sorted(RULES))
        self._schedule_name = _checks.choice(self, "lr_schedule", SCHEDULES)

    def _make_optimizer(self):
        """weight_decay on the weights (any parameter whose name ends in "weight", torch's
        convention; LayerNorm's too), not on the biases."""
        named = self.model_.named_parameters()
        weights = [p for name, p in named if name.endswith("weight")]
        others = [p for name, p in named if not name.endswith("weight")]
        return make_optimizer(self.optimizer, self.lr, weights, others, self.weight_decay)

    def _make_scheduler(self, epochs):
        return make_scheduler(self.lr_schedule, self._optimizer, epochs)

    def _epoch(self, X, T, W, seed):
        history = self.model_.fit(X, T, loss=self._loss_kind(), optimizer=self._optimizer,
                                  epochs=1, batch_size=self._batch, shuffle=bool(self.shuffle),
                                  seed=seed, metric=None, sample_weight=W)
        return history["loss"][0]

    def _loss(self, X, T):
        return self.model_.evaluate(X, T, loss=self._loss_kind(), metric=None)["loss"]

    def _output(self, X):
        return self.model_.predict(X)

    def _state(self):
        return self.model_.state_dict()

    def _set_state(self, state):
        self.model_.load_state_dict(state)

"""Small neural networks trained on the CPU: layers, Sequential, losses, initializers and fit.

    from steepest import nn
    model = nn.Sequential(nn.Dense(64, 256, seed=0), nn.ReLU(), nn.Dense(256, 10, seed=1))
    history = model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=20, batch_size=64)

The forward/backward kernels are C++ (``steepest.nn.functional``); see ``layers``, ``model``,
``losses``, ``init`` and ``training`` (fit) for each part.
"""

from . import functional, init
from .early_stopping import EarlyStopping
from .training import History, evaluate, fit
from .layers import GELU, Dense, Dropout, LeakyReLU, Layer, Parameter, ReLU, Sigmoid, Tanh
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, Loss, MSELoss
from .model import Sequential
from .conv import Conv1d, TCNBlock

__all__ = ["Sequential", "Layer", "Parameter", "Dense", "ReLU", "LeakyReLU", "Tanh", "Sigmoid",
           "GELU", "Dropout", "Loss", "MSELoss", "L1Loss", "HuberLoss", "CrossEntropyLoss",
           "BCEWithLogitsLoss", "EarlyStopping", "History", "fit", "evaluate", "functional",
           "init", "Conv1d", "TCNBlock"]

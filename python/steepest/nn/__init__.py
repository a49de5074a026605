"""Small neural networks trained on the CPU: layers, Sequential, losses, initializers and fit.

    from steepest import nn
    model = nn.Sequential(nn.Dense(64, 256, seed=0), nn.ReLU(), nn.Dense(256, 10, seed=1))
    history = model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=20, batch_size=64)

The forward/backward kernels are C++ (``steepest.nn.functional``); see ``layers``, ``model``,
``losses``, ``init`` and ``training`` (fit) for each part.
"""

from . import functional, init
from .early_stopping import EarlyStopping
from .training import History, StopTraining, evaluate, fit
from .layers import (GELU, Block, Dense, Dropout, Flatten, LastStep, LayerNorm, Layer, LeakyReLU,
                     MeanOverTime, Parameter, ReLU, Sigmoid, Tanh)
from .losses import (BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, Loss, MSELoss,
                     ReinforceLoss, SharpeLoss, SortinoLoss)
from .model import Sequential
from .conv import Conv1d, TCNBlock
from .gradcheck import check_grad
from .losses import CustomLoss
from .config import from_config as layer_from_config
from .attention import MultiheadAttention, PositionalEncoding, TransformerEncoderLayer
from .recurrent import GRU, LSTM, Recurrent

__all__ = ["Sequential", "Layer", "Block", "Parameter", "Dense", "ReLU", "LeakyReLU", "Tanh",
           "Sigmoid", "GELU", "Dropout", "LayerNorm", "LastStep", "MeanOverTime", "Flatten",
           "Conv1d", "TCNBlock", "Loss", "MSELoss", "L1Loss", "HuberLoss", "CrossEntropyLoss",
           "BCEWithLogitsLoss", "SharpeLoss", "SortinoLoss", "ReinforceLoss", "EarlyStopping",
           "History", "fit", "evaluate", "functional", "init", "StopTraining", "check_grad",
           "CustomLoss", "layer_from_config", "MultiheadAttention", "TransformerEncoderLayer",
           "PositionalEncoding", "Recurrent", "LSTM", "GRU"]

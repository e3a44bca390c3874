"""The numpy BNN trainer and its exporter to the network ``.npz`` format (hardware-aware options).

``bnn`` holds the model and training loop, ``export`` the batch-norm folding and the reference
integer inference, ``command`` the ``accelsim train`` subcommand.
"""

from accelsim.train.bnn import EpochStats, Model, TrainConfig, TrainResult, forward_eval, predict, train
from accelsim.train.command import add_train_parser, run_train
from accelsim.train.export import fold_hidden, fold_output, network_arrays, predict_folded, save_network

__all__ = [
    "EpochStats",
    "Model",
    "TrainConfig",
    "TrainResult",
    "add_train_parser",
    "fold_hidden",
    "fold_output",
    "forward_eval",
    "network_arrays",
    "predict",
    "predict_folded",
    "run_train",
    "save_network",
    "train",
]

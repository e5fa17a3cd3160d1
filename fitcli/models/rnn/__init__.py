"""The ``rnn`` model kind: Elman, GRU and LSTM networks, parameters shared through time.

``model.py`` — the Model (one loop over time steps, vectorised over the batch);
``cells.py`` — the fused cell primitives (engine extensions with their VJPs and JVPs);
``outputs.py`` — task metrics (mse, legal, bits per character) and run-folder outputs;
``text.py`` — character-level text generation from a trained model.
"""

from .model import RNN

__all__ = ["RNN"]

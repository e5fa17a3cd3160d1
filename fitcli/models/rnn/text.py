"""Text generation from a trained character-level ``rnn`` model (``samples.txt`` at the
end of a fit; ``fitcli sample RUN_DIR`` through :func:`fitcli.api.sample`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ...errors import InputError

__all__ = ["sample_text"]


def sample_text(model, params: Mapping[str, np.ndarray], length: int, *,
                temperature: float = 0.8, prime: str = "",
                rng: np.random.Generator) -> str:
    """Generate ``length`` characters after ``prime`` (the prime is not repeated).

    The model reads the prime (teacher forcing), then draws each next
    character from softmax(logits / temperature) and feeds it back.

    Parameters
    ----------
    model : fitcli.models.rnn.RNN
        A model built on a ``text`` (or ``reber``) dataset: ``model.data.extras["vocab"]``.
    params : name -> array
        Trained parameters.
    length : number of characters to generate (>= 0)
    temperature : > 0; lower is more conservative, 1 samples the model's distribution
    prime : text to start from, every character in the vocabulary; empty: a character
        drawn from the vocabulary
    rng : the generator every draw comes from
    """
    import fitcli.engine as fe

    vocab = list(model.data.extras["vocab"])
    lookup = {c: i for i, c in enumerate(vocab)}
    if not isinstance(length, (int, np.integer)) or length < 0:
        raise InputError(f"--length: expected a non-negative integer, got {length!r}")
    if not temperature > 0:
        raise InputError(f"--temperature: expected a positive number, got {temperature!r}")
    unknown = sorted(set(prime) - set(lookup))
    if unknown:
        raise InputError(f"--prime: characters {''.join(unknown)!r} are not in the model's "
                         f"vocabulary of {len(vocab)} characters")
    codes = [lookup[c] for c in prime] or [int(rng.integers(len(vocab)))]
    out: list[str] = []
    with fe.no_grad():
        p = {k: fe.Tensor(v) for k, v in params.items()}
        state = None
        if len(codes) > 1:
            _, state = model.run(p, np.asarray([codes[:-1]]))
        last = codes[-1]
        for _ in range(length):
            outs, state = model.run(p, np.asarray([[last]]), state)
            logits = model.readout_layer(p, outs).data.reshape(-1).astype(np.float64)
            z = logits / temperature
            prob = np.exp(z - z.max())
            prob /= prob.sum()
            last = int(rng.choice(len(vocab), p=prob))
            out.append(vocab[last])
    return "".join(out)

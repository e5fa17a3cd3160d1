"""The ``registration`` model kind: the transform that aligns a moving image to a fixed one.

``model.py`` — the Model (stages: pyramid levels, coarse to fine; the ncc loss);
``transforms.py`` — transforms, similarity terms and the objective on one level;
``data.py`` — pairs, synthetic deformations with an exact truth, and the metrics;
``figures.py`` — warped.png, grid.png, jacobian.png, difference and error figures.
"""

from .model import NCC, RegistrationModel

__all__ = ["NCC", "RegistrationModel"]

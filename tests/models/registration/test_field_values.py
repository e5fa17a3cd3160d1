"""Displacement-field regularisers: values on NON-affine fields against closed forms.

On an affine field every second difference vanishes and every first difference is
constant, so a wrong term (bending without its cross term 2u_rc², say) can hide behind a
matching gradient: gradcheck compares the gradient with the value, not the value with the
formula. Here u(r, c) = a r² + b rc + d c² + e r + f c + g on an H × W grid (r, c the
row and column indices) has, exactly,

    D_r u = a(2r + 1) + b c + e   (r < H−1),     D_c u = b r + d(2c + 1) + f   (c < W−1),
    D_rr u = 2a,   D_rc u = b,   D_cc u = 2d,

so each energy's value follows from the documented formula by counting grid points.
"""

from __future__ import annotations

import numpy as np
import pytest

from fitcli.engine import Tensor
from fitcli.models.registration.fields import Bending, Diffusion, FieldSmoothTV, FieldTV, bending

COEFS = [(1.0, 2.0, 0.5, 0.0, 0.0, 0.0), (-0.3, 0.7, 0.2, 1.5, -2.0, 4.0)]


def field(shape, a, b, d, e, f, g):
    r, c = np.meshgrid(np.arange(shape[0], dtype=float), np.arange(shape[1], dtype=float),
                       indexing="ij")
    return a * r * r + b * r * c + d * c * c + e * r + f * c + g


def first_differences(shape, a, b, d, e, f, g):
    """(D_r u on (H−1, W), D_c u on (H, W−1)) from the closed forms above."""
    H, W = shape
    r, c = np.meshgrid(np.arange(H - 1.0), np.arange(W, dtype=float), indexing="ij")
    dr = a * (2 * r + 1) + b * c + e
    r, c = np.meshgrid(np.arange(H, dtype=float), np.arange(W - 1.0), indexing="ij")
    dc = b * r + d * (2 * c + 1) + f
    return dr, dc


def test_bending_of_a_quadratic_field_by_hand():
    # u = r² + 2rc + ½c² on 4 × 5: u_rr = 2 on 2·5 points, u_rc = 2 on 3·4, u_cc = 1 on 4·3
    # ½ (10·4 + 2·12·4 + 12·1) = ½ (40 + 96 + 12) = 74 (the cross term alone is 48)
    u = field((4, 5), *COEFS[0])
    assert Bending().value(u) == pytest.approx(74.0, rel=1e-13)


def bending_by_hand(shape, a, b, d, *_):
    """½ Σ u_rr² + 2 u_rc² + u_cc², each second difference counted where it is defined."""
    H, W = shape
    return 0.5 * ((H - 2) * W * (2 * a) ** 2 + 2 * (H - 1) * (W - 1) * b ** 2
                  + H * (W - 2) * (2 * d) ** 2)


@pytest.mark.parametrize("shape", [(4, 5), (7, 3), (6, 6)])
def test_bending_value_on_quadratic_fields(shape):
    for coefs in COEFS:
        u = field(shape, *coefs)
        assert Bending().value(u) == pytest.approx(bending_by_hand(shape, *coefs), rel=1e-12)
    # a two-component field (2, H, W) sums its components
    v = np.stack([field(shape, *c) for c in COEFS])
    expect = sum(bending_by_hand(shape, *c) for c in COEFS)
    assert float(bending(Tensor(v)).data) == pytest.approx(expect, rel=1e-12)


@pytest.mark.parametrize("coefs", COEFS)
@pytest.mark.parametrize("shape", [(4, 5), (7, 3)])
def test_diffusion_value_on_quadratic_fields(shape, coefs):
    # ½ Σ |∇u|² with forward differences inside the image only
    dr, dc = first_differences(shape, *coefs)
    expect = 0.5 * (np.sum(dr ** 2) + np.sum(dc ** 2))
    assert Diffusion().value(field(shape, *coefs)) == pytest.approx(expect, rel=1e-12)


def test_diffusion_of_a_quadratic_field_by_hand():
    # u = r² on 3 × 2: D_r u = 1, 3 in each of 2 columns, D_c u = 0 → ½ (2·(1 + 9)) = 10
    assert Diffusion().value(field((3, 2), 1.0, 0, 0, 0, 0, 0)) == pytest.approx(10.0)


@pytest.mark.parametrize("coefs", COEFS)
def test_field_tv_values_on_quadratic_fields(coefs):
    # Σ √(D_r u² + D_c u² (+ ε²)), differences zero-padded at the far edge (the last row has
    # no D_r, the last column no D_c)
    shape, eps = (5, 6), 0.05
    dr, dc = first_differences(shape, *coefs)
    gr, gc = np.zeros(shape), np.zeros(shape)
    gr[:-1], gc[:, :-1] = dr, dc
    u = field(shape, *coefs)
    assert FieldTV().value(u) == pytest.approx(np.sum(np.sqrt(gr ** 2 + gc ** 2)), rel=1e-12)
    smooth = float(FieldSmoothTV(eps=eps)(Tensor(u)).data)
    assert smooth == pytest.approx(np.sum(np.sqrt(gr ** 2 + gc ** 2 + eps ** 2)), rel=1e-12)


@pytest.mark.parametrize("reg", [Bending(), Diffusion()], ids=lambda r: r.name)
def test_quadratic_energy_is_half_the_pairing_with_its_gradient(reg):
    # E(u) = ½⟨u, L u⟩ and ∇E = L u, so ⟨u, ∇E(u)⟩ = 2E(u) at every u: ties value to gradient
    u = np.random.default_rng(3).standard_normal((2, 6, 7))
    t = Tensor(u, requires_grad=True)
    out = reg(t)
    out.backward()
    assert float(np.sum(u * t.grad)) == pytest.approx(2 * float(out.data), rel=1e-12)

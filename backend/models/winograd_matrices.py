"""The Winograd F(6x6, 3x3) transform matrices, built exactly (Toom-Cook), and the C they become.

F(6, 3) computes 6 outputs of a 3-tap correlation from 8 inputs with 8 multiplications,
through the interpolation points 0, ±1, ±2, ±1/2 and infinity (the points ncnn uses):

    y = AT @ ((G @ g) * (BT @ d))            2-D: Y = AT [(G g Gᵀ) ⊙ (BT d BTᵀ)] ATᵀ

`python -m backend.models.winograd_matrices` rewrites `native/winograd_transforms.h`, the
input and output transforms unrolled with these constants (zeros skipped, ±1 as add/sub);
a test checks that the committed header is what this module writes.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np

OUTPUTS = 6  # m: outputs per tile side
TAPS = 3  # r: kernel size
INPUTS = OUTPUTS + TAPS - 1  # 8: input tile side
POINTS = tuple(Fraction(p) for p in (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2)))
HEADER = Path(__file__).with_name("native") / "winograd_transforms.h"


def _times(a: list[Fraction], b: list[Fraction]) -> list[Fraction]:
    """Product of two polynomials given by ascending coefficients."""
    out = [Fraction(0)] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            out[i + j] += x * y
    return out


def _exact() -> tuple[list[list[Fraction]], list[list[Fraction]], list[list[Fraction]]]:
    at = [[p**i for p in POINTS] + [Fraction(int(i == OUTPUTS - 1))] for i in range(OUTPUTS)]
    g = []
    for j, p in enumerate(POINTS):
        denominator = Fraction(1)
        for q in POINTS[:j] + POINTS[j + 1 :]:
            denominator *= p - q
        g.append([p**k / denominator for k in range(TAPS)])
    g.append([Fraction(int(k == TAPS - 1)) for k in range(TAPS)])
    bt = []
    for j in range(len(POINTS)):
        poly = [Fraction(1)]
        for q in POINTS[:j] + POINTS[j + 1 :]:
            poly = _times(poly, [-q, Fraction(1)])
        bt.append(poly + [Fraction(0)] * (INPUTS - len(poly)))
    poly = [Fraction(1)]
    for q in POINTS:
        poly = _times(poly, [-q, Fraction(1)])
    bt.append(poly)
    return at, g, bt


_AT, _G, _BT = _exact()
AT = np.array(_AT, dtype=np.float64)  # (6, 8) output transform
G = np.array(_G, dtype=np.float64)  # (8, 3) kernel transform
BT = np.array(_BT, dtype=np.float64)  # (8, 8) input transform


def transform_kernels(weight: np.ndarray) -> np.ndarray:
    """(Cout, Cin, 3, 3) -> (64, Cin, Cout) float32: G g Gᵀ for every channel pair, one
    (Cin, Cout) matrix per position of the 8x8 transformed tile (the GEMM's right operand)."""
    cout, cin = weight.shape[:2]
    u = np.einsum("ak,oikl,bl->abio", G, weight.astype(np.float64), G)
    return np.ascontiguousarray(u.reshape(INPUTS * INPUTS, cin, cout), dtype=np.float32)


def _linear(coefficients: list[Fraction], operands: list[str]) -> str:
    """Σ c·x as V_* operations (native/winograd.c: AVX-512 or AVX2): zeros skipped, a +1 term first,
    ±1 as add/sub, the rest as FMAs."""
    terms = [(c, x) for c, x in zip(coefficients, operands, strict=True) if c != 0]
    terms.sort(key=lambda term: (abs(term[0]) != 1, term[0] < 0))
    expr = None
    for c, x in terms:
        k = f"V_SET1({float(c)!r}f)"
        if expr is None and c == 1:
            expr = x
        elif expr is None:
            expr = f"V_SUB(V_ZERO(), {x})" if c == -1 else f"V_MUL({k}, {x})"
        elif c == 1:
            expr = f"V_ADD({expr}, {x})"
        elif c == -1:
            expr = f"V_SUB({expr}, {x})"
        else:
            expr = f"V_FMA({k}, {x}, {expr})"
    return expr or "V_ZERO()"


def _only(row: list[Fraction], parity: int) -> bool:
    return all(c == 0 for k, c in enumerate(row) if k % 2 != parity)


def _paired_rows(matrix: list[list[Fraction]], operands: list[str], assign: Callable[[int, str], str]) -> list[str]:
    """out[j] = matrix[j] · operands, where rows j, j+1 of a ±p point pair share work: their
    half-sum uses only even operands and their half-difference only odd ones, so
    out[j] = even + odd and out[j+1] = even - odd (26 operations for BT instead of about 40)."""
    lines, j = [], 0
    while j < len(matrix):
        if j + 1 < len(matrix):
            even = [(a + b) / 2 for a, b in zip(matrix[j], matrix[j + 1], strict=True)]
            odd = [(a - b) / 2 for a, b in zip(matrix[j], matrix[j + 1], strict=True)]
            if _only(even, 0) and _only(odd, 1) and any(even) and any(odd):
                lines.append(f"const v16 even{j} = {_linear(even, operands)}, odd{j} = {_linear(odd, operands)};")
                lines.append(assign(j, f"V_ADD(even{j}, odd{j})"))
                lines.append(assign(j + 1, f"V_SUB(even{j}, odd{j})"))
                j += 2
                continue
        lines.append(assign(j, _linear(matrix[j], operands)))
        j += 1
    return lines


def _paired_columns(matrix: list[list[Fraction]], operands: list[str], assign: Callable[[int, str], str]) -> list[str]:
    """out[i] = matrix[i] · operands, where columns k, k+1 of a ±p point pair enter every row as
    c·(x_k + x_k+1) or c·(x_k - x_k+1): those sums and differences are computed once (20
    operations for AT instead of about 38)."""
    lines, names, columns, k = [], [], [], 0
    while k < len(operands):
        pair = k + 1 < len(operands) and all(abs(row[k]) == abs(row[k + 1]) for row in matrix)
        if pair:
            lines.append(f"const v16 sum{k} = V_ADD({operands[k]}, {operands[k + 1]});")
            lines.append(f"const v16 dif{k} = V_SUB({operands[k]}, {operands[k + 1]});")
            columns.append((k, True))
            k += 2
        else:
            columns.append((k, False))
            k += 1
    for i, row in enumerate(matrix):
        coefficients, names = [], []
        for k, pair in columns:
            if not pair:
                coefficients.append(row[k])
                names.append(operands[k])
            elif row[k] == row[k + 1]:
                coefficients.append(row[k])
                names.append(f"sum{k}")
            else:
                coefficients.append(row[k])
                names.append(f"dif{k}")
        lines.append(assign(i, _linear(coefficients, names)))
    return lines


def header_source() -> str:
    n, m = INPUTS, OUTPUTS
    lines = [
        "/* Generated by `python -m backend.models.winograd_matrices`: do not edit. */",
        "/* Input transform of one 8x8 tile of 16 channels: V = BT d BTᵀ, position p stored at dst + p*ps. */",
        "KERNEL static inline void NAME(input_transform)(const float* src, long row_stride, float* dst, long ps) {",
        f"  v16 t[{n}][{n}];",
        f"  for (int i = 0; i < {n}; i++) {{",
        "    const float* row = src + i * row_stride;",
    ]
    lines += [f"    const v16 d{k} = V_LOAD(row + {16 * k});" for k in range(n)]
    rows = _paired_rows(_BT, [f"d{k}" for k in range(n)], lambda j, e: f"t[i][{j}] = {e};")
    lines += ["    " + line for line in rows]
    lines += ["  }", f"  for (int l = 0; l < {n}; l++) {{"]
    rows = _paired_rows(
        _BT, [f"t[{i}][l]" for i in range(n)], lambda j, e: f"V_STORE(dst + ({j} * {n} + l) * ps, {e});"
    )
    lines += ["    " + line for line in rows]
    lines += [
        "  }",
        "}",
        "",
        "/* Output transform: the 8x8 products at src + p*ps -> the 6x6 outputs y = AT M ATᵀ. */",
        f"KERNEL static inline void NAME(output_transform)(const float* src, long ps, v16 y[{m * m}]) {{",
        f"  v16 t[{n}][{m}];",
        f"  for (int i = 0; i < {n}; i++) {{",
    ]
    lines += [f"    const v16 m{k} = V_LOAD(src + (i * {n} + {k}) * ps);" for k in range(n)]
    lines += [
        "    " + line for line in _paired_columns(_AT, [f"m{k}" for k in range(n)], lambda j, e: f"t[i][{j}] = {e};")
    ]
    lines += ["  }", f"  for (int l = 0; l < {m}; l++) {{"]
    columns = _paired_columns(_AT, [f"t[{i}][l]" for i in range(n)], lambda j, e: f"y[{j} * {m} + l] = {e};")
    lines += ["    " + line for line in columns]
    lines += ["  }", "}", ""]
    lines += [
        "/* Kernel transform of one input channel for 16 output channels: u = G g Gᵀ, g = 9 vectors (3x3 taps). */",
        "KERNEL static inline void NAME(kernel_transform)(const v16 g[9], float* dst, long ps) {",
        f"  v16 t[{n}][3];",
    ]
    lines += [
        f"  t[{a}][{k}] = {_linear(_G[a], [f'g[{j} * 3 + {k}]' for j in range(TAPS)])};"
        for a in range(n)
        for k in range(TAPS)
    ]
    lines += [
        f"  V_STORE(dst + ({a} * {n} + {b}) * ps, {_linear(_G[b], [f't[{a}][{k}]' for k in range(TAPS)])});"
        for a in range(n)
        for b in range(n)
    ]
    lines += ["}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    HEADER.write_text(header_source())
    print(f"wrote {HEADER}")

"""The formulas of MATH.md as inline MathML (MathML Core renders natively; no script).

A handful of element builders keep each formula readable next to the notation of MATH.md.
"""

from __future__ import annotations

from html import escape

__all__ = ["FORMULAS", "VARIANCE_FORMULAS", "math"]


def math(*parts: str, display: bool = False) -> str:
    """A ``<math>`` element; ``display=True`` sets it on its own line."""
    mode = ' display="block"' if display else ""
    return f"<math{mode}>{''.join(parts)}</math>"


def row(*parts: str) -> str:
    return f"<mrow>{''.join(parts)}</mrow>"


def i(name: str) -> str:
    return f"<mi>{escape(name)}</mi>"


def n(number: str | int) -> str:
    return f"<mn>{escape(str(number))}</mn>"


def o(op: str) -> str:
    return f"<mo>{escape(op)}</mo>"


def text(words: str) -> str:
    return f"<mtext>{escape(words)}</mtext>"


def frac(num: str, den: str) -> str:
    return f"<mfrac>{num}{den}</mfrac>"


def sub(base: str, index: str) -> str:
    return f"<msub>{base}{index}</msub>"


def sup(base: str, power: str) -> str:
    return f"<msup>{base}{power}</msup>"


def paren(*parts: str) -> str:
    return row(o("("), *parts, o(")"))


def bracket(*parts: str) -> str:
    return row(o("["), *parts, o("]"))


def call(name: str, *args: str) -> str:
    """``name(args)``; ``name`` is an identifier or already a MathML element."""
    head = name if name.startswith("<") else i(name)
    return row(head, o("("), *_commas(args), o(")"))


def _commas(args) -> list[str]:
    out: list[str] = []
    for index, arg in enumerate(args):
        if index:
            out.append(o(","))
        out.append(arg)
    return out


def indicator(*condition: str) -> str:
    return row('<mn style="font-weight: bold">1</mn>', o("{"), *condition, o("}"))


# Recurring pieces.
PHI = i("φ")
P = i("p")
B = i("b")
W = i("w")
E1 = sub(i("e"), n(1))
E2 = sub(i("e"), n(2))
B1 = sub(i("b"), n(1))
B2 = sub(i("b"), n(2))
ONE_MINUS_P = paren(n(1), o("−"), P)
HALF = frac(n(1), n(2))
T = i("t")


def f(arg: str) -> str:
    return call("f", arg)


def g(name: str) -> str:
    return sub(i("g"), text(name))


def sigmoid(arg: str) -> str:
    return call("σ", arg)


def _exp_threshold() -> str:
    return row(sup(i("e"), PHI), E1, o(">"), E2)


FORMULAS: dict[str, str] = {
    "objective": math(
        call("ℰ", PHI), o("="),
        sub(text("E"), row(B, o("∼"), call("Bernoulli", P))), bracket(f(B)), o(","),
        o("  "), P, o("="), sigmoid(PHI), o("="),
        frac(n(1), row(n(1), o("+"), sup(i("e"), row(o("−"), PHI)))),
        display=True,
    ),
    "exact": math(
        sub(o("∇"), PHI), call("ℰ", PHI), o("="),
        paren(f(n(1)), o("−"), f(n(0))), P, ONE_MINUS_P,
        display=True,
    ),
    "reinforce": math(g("reinforce"), o("="), f(B), paren(B, o("−"), P), display=True),
    "seed_reinforce": math(
        sup(paren(o("−"), n(1)), B), f(B), sigmoid(PHI), paren(n(1), o("−"), sigmoid(PHI))
    ),
    "uniform": math(
        i("u"), o("∼"), call("U", n(0), frac(i("a"), P)), o(","), o(" "),
        B, o("="), indicator(i("u"), o("<"), i("a")), o(":"), o(" "),
        g("uniform_boundary"), o("="), ONE_MINUS_P, paren(f(B), o("−"), f(n(0))),
        display=True,
    ),
    "uniform_naive": math(g("uniform_naive"), o("="), ONE_MINUS_P, f(B)),
    "exp_pair": math(
        E1, o(","), E2, o("∼"), call("Exp", n(1)), o(","), o(" "),
        B, o("="), indicator(_exp_threshold()), o(":"), o(" "),
        g("exp_score"), o("="), f(B), paren(E1, o("−"), n(1)),
        display=True,
    ),
    "noise_score": math(
        B, o("="), indicator(i("ε"), o("<"), call(sup(i("F"), row(o("−"), n(1))), P)), o(":"),
        o(" "), g("noise_score"), o("="), f(B),
        sup(paren(call("log", sub(i("p"), i("ε")))), o("′")), paren(i("ε")),
        frac(row(i("d"), sup(i("F"), row(o("−"), n(1))), paren(P)), row(i("d"), PHI)),
        display=True,
    ),
    "w": math(
        i("s"), o("="), E1, o("+"), E2, o(","), o(" "),
        W, o("="), frac(E2, i("s")), o("∼"), call("U", n(0), n(1)),
        text("\u00a0independent of\u00a0"), i("s"), o(","), o(" "),
        indicator(_exp_threshold()), o("="), indicator(W, o("<"), P),
        display=True,
    ),
    "rao_blackwell": math(
        text("E"), bracket(E1, o("−"), n(1), o("|"), W), o("="), n(1), o("−"), n(2), W,
        o("⇒"), g("ar"), o("="), f(B), paren(n(1), o("−"), n(2), W),
        display=True,
    ),
    "swap": math(
        paren(E1, o(","), E2), o("↦"), paren(E2, o(","), E1), o(":"), o(" "),
        W, o("↦"), n(1), o("−"), W, o(","), o(" "),
        B1, o("="), indicator(W, o("<"), P), o(","), o(" "),
        B2, o("="), indicator(n(1), o("−"), W, o("<"), P),
        display=True,
    ),
    "arm": math(
        g("arm"), o("="), paren(f(B1), o("−"), f(B2)), paren(HALF, o("−"), W), display=True
    ),
    "disarm": math(
        g("disarm"), o("="), HALF, paren(f(B1), o("−"), f(B2)),
        sup(paren(o("−"), n(1)), B2), indicator(B1, o("≠"), B2),
        sigmoid(row(o("|"), PHI, o("|"))),
        display=True,
    ),
    "antithetic_exp": math(
        g("antithetic_exp"), o("="), HALF,
        bracket(f(B), paren(E1, o("−"), n(1)), o("+"), f(sup(B, o("′"))),
                paren(E2, o("−"), n(1))), o(","), o(" "),
        sup(B, o("′")), o("="), indicator(sup(i("e"), PHI), E2, o(">"), E1),
    ),
    "toy": math(
        f(B), o("="), sup(paren(B, o("−"), T), n(2)), o(","), o(" "), PHI, o("="), n(0), o(":"),
        o(" "), sub(o("∇"), PHI), call("ℰ", PHI), o("="),
        frac(row(n(1), o("−"), n(2), T), n(4)),
    ),
    "elbo": math(
        text("ELBO"), o("="), sub(text("E"), i("q")), bracket(call("log p", i("x"), i("z"),
        i("θ"))), o("+"), i("H"), bracket(call("q", i("z"))), o("+"), i("H"),
        bracket(call("q", i("θ"))),
        display=True,
    ),
}

_GRAD_SQUARED = sup(paren(frac(row(n(1), o("−"), n(2), T), n(4))), n(2))
_FOURTH = row(sup(paren(n(1), o("−"), T), n(4)), o("+"), sup(T, n(4)))

# MATH.md's exact variances of one estimate (one bit, phi = 0, f(b) = (b - t)^2).
VARIANCE_FORMULAS: dict[str, str] = {
    "reinforce": math(frac(_FOURTH, n(8)), o("−"), _GRAD_SQUARED),
    "ar": math(frac(_FOURTH, n(6)), o("−"), _GRAD_SQUARED),
    "noise_score": math(frac(_FOURTH, n(6)), o("−"), _GRAD_SQUARED),
    "reinforce_loo": math(frac(sup(paren(n(1), o("−"), n(2), T), n(2)), n(16)),
                          text("\u00a0(S = 2)")),
    "arm": math(frac(sup(paren(n(1), o("−"), n(2), T), n(2)), n(48))),
    "disarm": math(n(0)),
}

"""The report's formulas as inline MathML (MathML Core renders natively; no script).

A handful of element builders (one per MathML element: ``identifier`` is ``<mi>``, ``number``
``<mn>``, ``operator`` ``<mo>``) keep each formula readable next to the notation of
docs/math.md, the project's derivations.
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


def identifier(name: str) -> str:
    """A variable or function name, ``<mi>``."""
    return f"<mi>{escape(name)}</mi>"


def number(value: str | int) -> str:
    """A numeral, ``<mn>``."""
    return f"<mn>{escape(str(value))}</mn>"


def operator(op: str) -> str:
    """An operator or fence, ``<mo>``."""
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
    return row(operator("("), *parts, operator(")"))


def bracket(*parts: str) -> str:
    return row(operator("["), *parts, operator("]"))


def call(name: str, *args: str) -> str:
    """``name(args)``; ``name`` is an identifier or already a MathML element."""
    head = name if name.startswith("<") else identifier(name)
    return row(head, operator("("), *_commas(args), operator(")"))


def _commas(args) -> list[str]:
    out: list[str] = []
    for index, arg in enumerate(args):
        if index:
            out.append(operator(","))
        out.append(arg)
    return out


def indicator(*condition: str) -> str:
    return row('<mn style="font-weight: bold">1</mn>', operator("{"), *condition, operator("}"))


# Recurring pieces.
PHI = identifier("φ")
P = identifier("p")
B = identifier("b")
W = identifier("w")
E1 = sub(identifier("e"), number(1))
E2 = sub(identifier("e"), number(2))
B1 = sub(identifier("b"), number(1))
B2 = sub(identifier("b"), number(2))
ONE_MINUS_P = paren(number(1), operator("−"), P)
HALF = frac(number(1), number(2))
T = identifier("t")


def f_of(arg: str) -> str:
    """``f(arg)``, the objective applied to ``arg``."""
    return call("f", arg)


def estimate(name: str) -> str:
    """``g_name``, the gradient estimate of the named estimator."""
    return sub(identifier("g"), text(name))


def sigmoid(arg: str) -> str:
    return call("σ", arg)


def _exp_threshold() -> str:
    return row(sup(identifier("e"), PHI), E1, operator(">"), E2)


FORMULAS: dict[str, str] = {
    "objective": math(
        call("ℰ", PHI),
        operator("="),
        sub(text("E"), row(B, operator("∼"), call("Bernoulli", P))),
        bracket(f_of(B)),
        operator(","),
        operator("  "),
        P,
        operator("="),
        sigmoid(PHI),
        operator("="),
        frac(
            number(1), row(number(1), operator("+"), sup(identifier("e"), row(operator("−"), PHI)))
        ),
        display=True,
    ),
    "exact": math(
        sub(operator("∇"), PHI),
        call("ℰ", PHI),
        operator("="),
        paren(f_of(number(1)), operator("−"), f_of(number(0))),
        P,
        ONE_MINUS_P,
        display=True,
    ),
    "reinforce": math(
        estimate("reinforce"), operator("="), f_of(B), paren(B, operator("−"), P), display=True
    ),
    "note_reinforce": math(
        sup(paren(operator("−"), number(1)), B),
        f_of(B),
        sigmoid(PHI),
        paren(number(1), operator("−"), sigmoid(PHI)),
    ),
    "uniform": math(
        identifier("u"),
        operator("∼"),
        call("U", number(0), frac(identifier("a"), P)),
        operator(","),
        operator(" "),
        B,
        operator("="),
        indicator(identifier("u"), operator("<"), identifier("a")),
        operator(":"),
        operator(" "),
        estimate("uniform_boundary"),
        operator("="),
        ONE_MINUS_P,
        paren(f_of(B), operator("−"), f_of(number(0))),
        display=True,
    ),
    "uniform_naive": math(estimate("uniform_naive"), operator("="), ONE_MINUS_P, f_of(B)),
    "exp_pair": math(
        E1,
        operator(","),
        E2,
        operator("∼"),
        call("Exp", number(1)),
        operator(","),
        operator(" "),
        B,
        operator("="),
        indicator(_exp_threshold()),
        operator(":"),
        operator(" "),
        estimate("exp_score"),
        operator("="),
        f_of(B),
        paren(E1, operator("−"), number(1)),
        display=True,
    ),
    "noise_score": math(
        B,
        operator("="),
        indicator(
            identifier("ε"),
            operator("<"),
            call(sup(identifier("F"), row(operator("−"), number(1))), P),
        ),
        operator(":"),
        operator(" "),
        estimate("noise_score"),
        operator("="),
        f_of(B),
        sup(paren(call("log", sub(identifier("p"), identifier("ε")))), operator("′")),
        paren(identifier("ε")),
        frac(
            row(identifier("d"), sup(identifier("F"), row(operator("−"), number(1))), paren(P)),
            row(identifier("d"), PHI),
        ),
        display=True,
    ),
    "w": math(
        identifier("s"),
        operator("="),
        E1,
        operator("+"),
        E2,
        operator(","),
        operator(" "),
        W,
        operator("="),
        frac(E2, identifier("s")),
        operator("∼"),
        call("U", number(0), number(1)),
        text("\u00a0independent of\u00a0"),
        identifier("s"),
        operator(","),
        operator(" "),
        indicator(_exp_threshold()),
        operator("="),
        indicator(W, operator("<"), P),
        display=True,
    ),
    "rao_blackwell": math(
        text("E"),
        bracket(E1, operator("−"), number(1), operator("|"), W),
        operator("="),
        number(1),
        operator("−"),
        number(2),
        W,
        operator("⇒"),
        estimate("ar"),
        operator("="),
        f_of(B),
        paren(number(1), operator("−"), number(2), W),
        display=True,
    ),
    "swap": math(
        paren(E1, operator(","), E2),
        operator("↦"),
        paren(E2, operator(","), E1),
        operator(":"),
        operator(" "),
        W,
        operator("↦"),
        number(1),
        operator("−"),
        W,
        operator(","),
        operator(" "),
        B1,
        operator("="),
        indicator(W, operator("<"), P),
        operator(","),
        operator(" "),
        B2,
        operator("="),
        indicator(number(1), operator("−"), W, operator("<"), P),
        display=True,
    ),
    "arm": math(
        estimate("arm"),
        operator("="),
        paren(f_of(B1), operator("−"), f_of(B2)),
        paren(HALF, operator("−"), W),
        display=True,
    ),
    "disarm": math(
        estimate("disarm"),
        operator("="),
        HALF,
        paren(f_of(B1), operator("−"), f_of(B2)),
        sup(paren(operator("−"), number(1)), B2),
        indicator(B1, operator("≠"), B2),
        sigmoid(row(operator("|"), PHI, operator("|"))),
        display=True,
    ),
    "antithetic_exp": math(
        estimate("antithetic_exp"),
        operator("="),
        HALF,
        bracket(
            f_of(B),
            paren(E1, operator("−"), number(1)),
            operator("+"),
            f_of(sup(B, operator("′"))),
            paren(E2, operator("−"), number(1)),
        ),
        operator(","),
        operator(" "),
        sup(B, operator("′")),
        operator("="),
        indicator(sup(identifier("e"), PHI), E2, operator(">"), E1),
    ),
    "toy": math(
        f_of(B),
        operator("="),
        sup(paren(B, operator("−"), T), number(2)),
        operator(","),
        operator(" "),
        PHI,
        operator("="),
        number(0),
        operator(":"),
        operator(" "),
        sub(operator("∇"), PHI),
        call("ℰ", PHI),
        operator("="),
        frac(row(number(1), operator("−"), number(2), T), number(4)),
    ),
    "elbo": math(
        text("ELBO"),
        operator("="),
        sub(text("E"), identifier("q")),
        bracket(call("log p", identifier("x"), identifier("z"), identifier("θ"))),
        operator("+"),
        identifier("H"),
        bracket(call("q", identifier("z"))),
        operator("+"),
        identifier("H"),
        bracket(call("q", identifier("θ"))),
        display=True,
    ),
}

_GRAD_SQUARED = sup(paren(frac(row(number(1), operator("−"), number(2), T), number(4))), number(2))
_FOURTH = row(sup(paren(number(1), operator("−"), T), number(4)), operator("+"), sup(T, number(4)))

# The exact variances of one estimate (one bit, phi = 0, f(b) = (b - t)^2) as formulas; their
# values come from pmcgrad.problems.k1_variance, and a test keeps the two lists alike.
VARIANCE_FORMULAS: dict[str, str] = {
    "reinforce": math(frac(_FOURTH, number(8)), operator("−"), _GRAD_SQUARED),
    "ar": math(frac(_FOURTH, number(6)), operator("−"), _GRAD_SQUARED),
    "noise_score": math(frac(_FOURTH, number(6)), operator("−"), _GRAD_SQUARED),
    "reinforce_loo": math(
        frac(sup(paren(number(1), operator("−"), number(2), T), number(2)), number(16)),
        text("\u00a0(S = 2)"),
    ),
    "arm": math(frac(sup(paren(number(1), operator("−"), number(2), T), number(2)), number(48))),
    "disarm": math(number(0)),
}

"""pmcgrad.study.report.page: numbers as the page prints them."""

import pytest

from pmcgrad.study.report.page import fmt, fmt_pm


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0, "0"), (float("nan"), "—"), (None, "—"), (True, "yes"), (1234.5, "1,234"),
     (7, "7"), (0.0156, "0.0156"), (2.5e-5, "2.50×10<sup>-5</sup>"), (float("inf"), "∞")],
)
def test_number_format(value, text):
    """Numbers print with 3 significant digits, thousands separators and HTML exponents."""
    assert fmt(value) == text


def test_value_with_error():
    assert fmt_pm(0.5, 0.01) == "0.5 ± 0.01"
    assert fmt_pm(0.5, float("nan")) == "0.5"

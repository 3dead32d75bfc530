"""pmcgrad.study.report.mathml: well-formed formulas, one per closed form shown."""

import xml.etree.ElementTree as ET

from pmcgrad.problems import K1_CLOSED_FORM_ESTIMATORS
from pmcgrad.study.report.mathml import FORMULAS, VARIANCE_FORMULAS, identifier, number, operator


def test_formulas_are_well_formed_mathml():
    """Every formula parses as XML (so the browser builds the intended MathML tree)."""
    for name, markup in {**FORMULAS, **VARIANCE_FORMULAS}.items():
        root = ET.fromstring(markup)
        assert root.tag == "math", name


def test_every_variance_formula_has_its_closed_form():
    """The typeset variances are a subset of those pmcgrad.problems computes."""
    assert set(VARIANCE_FORMULAS) <= set(K1_CLOSED_FORM_ESTIMATORS)


def test_elements_escape_their_text():
    assert identifier("a<b") == "<mi>a&lt;b</mi>"
    assert number(2) == "<mn>2</mn>" and operator("&") == "<mo>&amp;</mo>"

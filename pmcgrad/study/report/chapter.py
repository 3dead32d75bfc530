"""A chapter of the report: its anchor and title, the inputs it reads, and how it is built.

Each chapter module holds a ``summarise_*`` function that does only the pandas work (and is
unit-tested on small frames) and a ``render_*`` function that only writes HTML and figures,
and exposes a :class:`Chapter` that joins them. The chapter's ``needs`` are the names of the
report inputs it reads (see :data:`pmcgrad.study.report.inputs.INPUT_KINDS`); the workflow
passes exactly those, from its rules' outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pmcgrad.study.report.inputs import ReportInputs
    from pmcgrad.study.report.page import Section

__all__ = ["Chapter"]


@dataclass(frozen=True)
class Chapter:
    """One section of the page."""

    id: str  # the stable anchor (``<section id=...>``)
    title: str
    needs: tuple[str, ...]  # report inputs it reads
    build: Callable[[ReportInputs], Section]
    # (input, what it holds, where the workflow writes it) of the table without which the
    # chapter has nothing to show: a run without it gets a note instead of the chapter.
    requires: tuple[str, str, str] | None = None

    def make(self, inputs: ReportInputs) -> Section:
        """The chapter's section for ``inputs``."""
        if self.requires is not None:
            name, what, path = self.requires
            if getattr(inputs, name) is None:
                return self.without(what, path)
        return self.build(inputs)

    def section(self) -> Section:
        """An empty section with this chapter's anchor and title."""
        from pmcgrad.study.report.page import Section

        return Section(id=self.id, title=self.title)

    def without(self, what: str, path_hint: str) -> Section:
        """The section of a run that lacks this chapter's input: one note saying so."""
        from pmcgrad.study.report.wording import absent

        section = self.section()
        section.add(absent(what, path_hint))
        return section

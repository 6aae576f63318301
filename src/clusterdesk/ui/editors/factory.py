"""The editor for a field, chosen by its type in the definition."""

from __future__ import annotations

from clusterdesk.model.schema import Field, Section

from ..controller import DraftController
from .base import FieldEditor
from .boxes import BoxesEditor
from .choice import ChoiceEditor
from .grid import GridEditor, MatrixEditor
from .line import LineFieldEditor
from .narrative import NarrativeEditor
from .repeat import RepeatEditor


# -- the factory --------------------------------------------------------------------------------


def editor_for(ctl: DraftController, section: Section, field: Field) -> FieldEditor:
    t = field.type
    if t == "narrative":
        return NarrativeEditor(ctl, section, field)
    if t == "choice":
        return ChoiceEditor(ctl, section, field)
    if t == "boxes":
        return BoxesEditor(ctl, section, field)
    if t == "repeat":
        return RepeatEditor(ctl, section, field)
    if t == "matrix":
        return MatrixEditor(ctl, section, field)
    if field.years and not field.calculation:
        return GridEditor(ctl, section, [field])
    return LineFieldEditor(ctl, section, field)

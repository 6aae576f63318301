"""The editors of the wizard, one module per field type, generated from the form definition.

Every editor only lays out widgets: it hands what the user typed to the
:class:`~clusterdesk.ui.controller.DraftController` when the user leaves a field (never on
``textChanged``, which fires during Chinese IME composition) and redraws itself from the
session when the controller says a key changed. :func:`editor_for` picks the editor of a field.
"""

from __future__ import annotations

from .inputs import (
    ClickLabel,
    CommitPlainTextEdit,
    FormLineEdit,
    InputBalloon,
    MAX_VISIBLE_ROWS,
    MM,
    NumberEdit,
    NumberValidator,
    ProblemLabel,
    balloon,
    number_input_problem,
)
from .base import (
    CARRIED_CHANGED_BG,
    CARRIED_CHANGED_FG,
    CarriedNote,
    FieldEditor,
    carried_value_text,
    cell_doubtful,
    cell_invalid,
    cell_name,
    esc,
    fit_text,
    help_widgets,
    strip_where,
)
from .line import LineFieldEditor
from .narrative import NarrativeEditor, overflow_start
from .choice import ChoiceEditor
from .evidence import EvidencePanel
from .boxes import BoxesEditor
from .grid import ColumnDelegate, GridEditor, MatrixEditor, WrapHeader, small_button
from .repeat import PasteTable, RepeatEditor
from .factory import editor_for

__all__ = [
    "ClickLabel",
    "CommitPlainTextEdit",
    "FormLineEdit",
    "InputBalloon",
    "MAX_VISIBLE_ROWS",
    "MM",
    "NumberEdit",
    "NumberValidator",
    "ProblemLabel",
    "balloon",
    "number_input_problem",
    "CARRIED_CHANGED_BG",
    "CARRIED_CHANGED_FG",
    "CarriedNote",
    "FieldEditor",
    "carried_value_text",
    "cell_doubtful",
    "cell_invalid",
    "cell_name",
    "esc",
    "fit_text",
    "help_widgets",
    "strip_where",
    "LineFieldEditor",
    "NarrativeEditor",
    "overflow_start",
    "ChoiceEditor",
    "EvidencePanel",
    "BoxesEditor",
    "ColumnDelegate",
    "GridEditor",
    "MatrixEditor",
    "WrapHeader",
    "small_button",
    "PasteTable",
    "RepeatEditor",
    "editor_for",
]

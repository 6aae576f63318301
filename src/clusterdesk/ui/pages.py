"""One scrollable page per form section, laid out from the section's items in official order."""

from __future__ import annotations

from clusterdesk.model.plan import applies
from clusterdesk.model.schema import Field, Group, Heading, Note, Section, Sign

from . import style
from .controller import DraftController
from .qt import QAbstractItemView, QFrame, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget, Qt
from .editors import FieldEditor, GridEditor, NarrativeEditor, editor_for

CONTENT_MAX_WIDTH = 980


def _is_grid_row(section: Section, f: Field) -> bool:
    return bool(f.years) and f.type in ("number", "integer", "percent") and not f.calculation


def _inside_item_view(w: QWidget, page: QWidget) -> bool:
    p = w.parentWidget()
    while p is not None and p is not page:
        if isinstance(p, QAbstractItemView):
            return True
        p = p.parentWidget()
    return False


class SectionPage(QWidget):
    def __init__(self, ctl: DraftController, section: Section, index: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctl = ctl
        self.section = section
        self.index = index
        self.editors: list[FieldEditor] = []
        self._by_key: dict[str, FieldEditor] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        head = QFrame()
        head.setObjectName("pageHead")
        head.setStyleSheet("QFrame#pageHead { background: #f7f9fb; border-bottom: 1px solid #dde3ea; }")
        hl = QHBoxLayout(head)
        hl.setContentsMargins(18, 10, 18, 10)
        title = style.label(section.title, "section-title")
        hl.addWidget(title, 1)
        self.total_label: QLabel | None = None
        if section.max_chars_total:
            self.total_label = style.label("", "counter", wrap=False)
            self.total_label.setAccessibleName("本部分合计字数")
            hl.addWidget(self.total_label)
        outer.addWidget(head)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # no invisible Tab stop: the fields scroll it
        outer.addWidget(self.scroll_area, 1)
        content = QWidget()
        content.setObjectName("pageContent")
        # a plausibility warning (请核对) on a line field: amber, as in the year grids
        content.setStyleSheet(f'QLineEdit[warning="true"] {{ border: 2px solid {style.WARNING}; background: #fff8e6; }}')
        self.content = content
        wrap = QHBoxLayout(content)
        wrap.setContentsMargins(18, 12, 18, 24)
        inner = QWidget()
        inner.setMaximumWidth(CONTENT_MAX_WIDTH)
        self.body = QVBoxLayout(inner)
        self.body.setContentsMargins(0, 0, 0, 0)
        self.body.setSpacing(10)
        wrap.addWidget(inner, 1)
        self._sign_tip_shown = False
        self._tab_candidates: list[QWidget] | None = None
        if section.layout == "instructions":  # the 填报说明, to read while filling
            for line in ctl.form.form.instructions:
                self.body.addWidget(style.label(line))
        self._build(section.items, self.body)
        self.body.addStretch(1)
        self.scroll_area.setWidget(content)
        for ed in self.editors:
            for k in ed.keys():
                self._by_key.setdefault(k, ed)
            if isinstance(ed, NarrativeEditor):
                ed.counted.connect(self._update_total)
        self._update_total()
        self._update_applies()

    # -- building --
    def _build(self, items, layout: QVBoxLayout) -> None:
        run: list[Field] = []

        def flush_run() -> None:
            if run:
                self._add_editor(GridEditor(self.ctl, self.section, list(run)), layout)
                run.clear()

        for item in items:
            if isinstance(item, Field) and _is_grid_row(self.section, item) and self.section.years:
                run.append(item)
                continue
            flush_run()
            if isinstance(item, Field):
                self._add_editor(editor_for(self.ctl, self.section, item), layout)
            elif isinstance(item, Group):
                box = QFrame()
                box.setProperty("role", "group")
                bl = QVBoxLayout(box)
                bl.setContentsMargins(12, 8, 12, 8)
                bl.addWidget(style.label(item.label, "label"))
                self._build(item.items, bl)
                layout.addWidget(box)
            elif isinstance(item, Heading):
                lab = style.label(item.text)
                size = {1: 13, 2: 12}.get(item.level, 11)
                lab.setStyleSheet(f"font-size: {size}pt; font-weight: bold; color: #1f3b5a; margin-top: 6px;")
                layout.addWidget(lab)
                if item.hint:
                    layout.addWidget(style.label(item.hint, "help"))
            elif isinstance(item, Note):
                layout.addWidget(style.label(item.text, "note"))
            elif isinstance(item, Sign):
                if not self._sign_tip_shown:
                    layout.addWidget(style.label("以下签字、盖章和日期在打印后手写，本程序不填写。", "help"))
                    self._sign_tip_shown = True
                lab = style.label(f"{item.text}" + ("　（盖章）" if item.seal and "章" not in item.text else ""), "note")
                lab.setMinimumHeight(48 if item.seal else 32)
                layout.addWidget(lab)
        flush_run()

    def _add_editor(self, ed: FieldEditor, layout: QVBoxLayout) -> None:
        self.editors.append(ed)
        layout.addWidget(ed)

    # -- lookups --
    def editor_for_key(self, key: str) -> FieldEditor | None:
        ed = self._by_key.get(key)
        if ed is None:
            field_key = ".".join(key.split(".")[:2])
            ed = self._by_key.get(field_key)
            if ed is None:
                ed = next((e for e in self.editors if any(k.startswith(field_key + ".") for k in e.keys())), None)
        return ed

    def tab_candidates(self) -> list[QWidget]:
        """The page's controls that take Tab, in focus-chain order (made once: the page's widgets
        follow it in the chain, as they are made with it); the window keeps the visible ones."""
        if self._tab_candidates is None:
            out: list[QWidget] = []
            w = self.nextInFocusChain()
            while w is not self and w is not None and self.isAncestorOf(w):
                if w.focusPolicy() & Qt.FocusPolicy.TabFocus and w.focusProxy() is None \
                        and not _inside_item_view(w, self):  # a table's cell editor comes and goes
                    out.append(w)
                w = w.nextInFocusChain()
            self._tab_candidates = out
        return self._tab_candidates

    def first_input(self) -> QWidget | None:
        """The first control of the page the user can type in or choose with (not a computed box)."""
        for ed in self.editors:
            for k in ed.keys():
                w = ed.focus_widget(k)
                if w is not None and w.isEnabled() and w.focusPolicy() & Qt.FocusPolicy.TabFocus:
                    return w
        return None

    def focus_first(self) -> bool:
        """Put the cursor in the first field of the section (when the section opens)."""
        w = self.first_input()
        if w is None:
            return False
        self.scroll_area.verticalScrollBar().setValue(0)
        w.setFocus(Qt.FocusReason.TabFocusReason)
        return True

    def focus_key(self, key: str) -> bool:
        ed = self.editor_for_key(key)
        if ed is None:
            return False
        w = ed.focus_widget(key)
        if w is None:
            return False
        self.scroll_area.ensureWidgetVisible(ed, 0, 40)
        self.scroll_area.ensureWidgetVisible(w, 20, 60)
        w.setFocus(Qt.FocusReason.OtherFocusReason)
        return True

    def on_changed(self, keys: list[str], reload_source: bool) -> None:
        for i, k in enumerate(keys):
            if i == 0 and not reload_source:
                continue
            ed = self._by_key.get(k)
            if ed is not None:
                ed.reload(k)
        self._update_applies()

    def _update_applies(self) -> None:
        """A field whose ``relevant`` does not hold is hidden, as the print leaves it out and the
        rules do not check it (变更情况说明 shows once 是 is chosen)."""
        conditional = [ed for ed in self.editors if any(f.relevant for f in ed.fields)]
        if not conditional:
            return
        answers = self.ctl.session.answers()
        for ed in conditional:
            ed.setVisible(all(applies(answers, f) for f in ed.fields))

    def update_problems(self) -> None:
        for ed in self.editors:
            ed.update_problems()

    def flush(self) -> None:
        for ed in self.editors:
            ed.flush()

    def _update_total(self) -> None:
        if self.total_label is None:
            return
        limit = self.section.max_chars_total or 0
        total = sum(ed.count() for ed in self.editors if isinstance(ed, NarrativeEditor))
        over = total > limit
        self.total_label.setText(f"本部分合计 {total}/{limit} 字" + (f"，超出 {total - limit} 字" if over else ""))
        style.set_role(self.total_label, "counter-over" if over else "counter")

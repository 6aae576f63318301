"""Annual reports in the UI: 新建年度报告 and 复制为下一年度 from the start screen, and the
目标完成情况 view of a report's draft window (a table and a painted chart).

Everything shown here comes from :mod:`clusterdesk.annual`; these widgets only lay it out.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from clusterdesk.annual import Achieved, AnnualError, Series, achievement, create_annual, progress, roll_over
from clusterdesk.model.form import Catalog, FormDef
from clusterdesk.model.rules import targets_source
from clusterdesk.service import Store, StoreError

from . import style
from .controller import DraftController
from .qt import (
    QAbstractItemView,
    QColor,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFont,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPainter,
    QPen,
    QPointF,
    QRectF,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    Qt,
    Signal,
)

# -- which forms take part ---------------------------------------------------------------------


def report_forms(catalog: Catalog, source_form_id: str) -> list[FormDef]:
    """The shipped report forms that can be prefilled from a draft of ``source_form_id``."""
    return [f for f in catalog
            if any(not pf.previous_year and pf.source_form == source_form_id for pf in f.form.prefill)]


def is_annual_report(catalog: Catalog, form_id: str) -> bool:
    """A form of a yearly family (复制为下一年度 applies)."""
    return form_id in catalog and bool(catalog.get(form_id).form.family)


# -- 新建年度报告 -------------------------------------------------------------------------------


class AnnualChoiceDialog(QDialog):
    """Which report form, for which year; the application it is prefilled from is named."""

    def __init__(self, forms: list[FormDef], application_title: str, parent: QWidget | None = None,
                 source_label: str = ""):
        super().__init__(parent)
        self.forms = forms
        self.setWindowTitle("新建年度报告")
        self.setMinimumWidth(520)
        from . import winstate

        lay = QVBoxLayout(self)
        src = source_label or "所选草稿"
        lay.addWidget(style.label(f"以{src}“{application_title}”为基础新建年度报告。集群名称、运营管理机构、"
                                  f"所定目标等将从{src}中预填，并注明来源。"))
        fl = QFormLayout()
        self.form_combo = QComboBox()
        self.form_combo.setAccessibleName("年度报告表单")
        for f in forms:
            self.form_combo.addItem(f"{f.title}（{f.form.notice.number} {f.form.attachment}）", f.id)
        self.year_spin = QSpinBox()
        self.year_spin.setAccessibleName("报告年度")
        self.year_spin.setRange(2000, 2100)
        self.year_spin.setSuffix(" 年度")
        fl.addRow("报告表单：", self.form_combo)
        fl.addRow("报告年度：", self.year_spin)
        lay.addLayout(fl)
        bb = QDialogButtonBox()
        ok = bb.addButton("新建", QDialogButtonBox.ButtonRole.AcceptRole)
        cancel = bb.addButton("取消", QDialogButtonBox.ButtonRole.RejectRole)
        ok.clicked.connect(self.accept)
        cancel.clicked.connect(self.reject)
        lay.addWidget(bb)
        self.form_combo.currentIndexChanged.connect(self._on_form)
        self._on_form(0)
        winstate.place(self, "annual-choice", None)

    def _on_form(self, index: int) -> None:
        if 0 <= index < len(self.forms):
            self.year_spin.setValue(self.forms[index].form.year)  # the year the form was issued for

    def choice(self) -> tuple[FormDef, int]:
        return self.forms[max(self.form_combo.currentIndex(), 0)], self.year_spin.value()


def new_annual(parent: QWidget, store: Store, catalog: Catalog, application_id: int) -> int | None:
    """Ask for the form and year, create the report; the new draft id, or None."""
    info = store.get_draft(application_id)
    forms = report_forms(catalog, info.form_id)
    if not forms:
        QMessageBox.information(parent, "新建年度报告", f"没有可从“{info.title}”的表单预填的年度报告表单，"
                                                      "不能据此新建年度报告。")
        return None
    label = next((pf.label for f in forms for pf in f.form.prefill
                  if not pf.previous_year and pf.source_form == info.form_id), "")
    dlg = AnnualChoiceDialog(forms, info.title, parent, label)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return None
    form, year = dlg.choice()
    try:
        return create_annual(store, application_id, form.id, year, catalog)
    except (AnnualError, StoreError) as e:
        QMessageBox.warning(parent, "无法新建年度报告", str(e))
    except KeyError as e:  # the application's form is not in this version of the program
        QMessageBox.warning(parent, "无法新建年度报告", str(e).strip("'\""))
    return None


def next_year(parent: QWidget, store: Store, catalog: Catalog, draft_id: int) -> int | None:
    """复制为下一年度; the new draft id, or None after telling the user why not."""
    try:
        return roll_over(store, draft_id, catalog)
    except AnnualError as e:
        QMessageBox.information(parent, "复制为下一年度", str(e))
    except (StoreError, KeyError) as e:
        QMessageBox.warning(parent, "复制为下一年度", str(e).strip("'\""))
    return None


# -- 目标完成情况 ---------------------------------------------------------------------------------

STATUS_COLOR = {"达成": style.OK, "未达成": style.ERROR, "待填写": style.PENDING, "定性": style.GREY}
KIND_COLOR = {"基准值": "#a9b4c0", "目标值": "#5b8fd0", "完成值": "#e08a1e"}
KINDS = ("基准值", "目标值", "完成值")
def chart_note(source: str) -> str:
    """Where the chart's numbers come from: the targets from ``source`` (the prefill's label)."""
    return f"基准值和各年目标值来自{source or '所定目标'}，完成值来自各年度报告。"


def _num(d: Decimal) -> str:
    """A chart label: 486, 0.36, 14.8 (no exponent, no trailing zeros)."""
    return format(d.normalize(), "f")


def _ticks(lo: Decimal, hi: Decimal, n: int = 4) -> list[Decimal]:
    """Round grid values (1, 2, 2.5 or 5 × 10^k apart) from ``lo`` to at least ``hi``."""
    span = hi - lo
    if span <= 0:
        span = abs(hi) or Decimal(1)
    raw = span / n
    exp = raw.adjusted()
    base = Decimal(10) ** exp
    step = next(m * base for m in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
                if m * base >= raw)
    start = (lo / step).to_integral_value(rounding="ROUND_FLOOR") * step
    out = [start]
    while out[-1] < hi:
        out.append(out[-1] + step)
    return out


class ProgressChart(QWidget):
    """Grouped bars per year: the application's 基准值 and 目标值 and the reports' 完成值."""

    def __init__(self) -> None:
        super().__init__()
        self.series: Series | None = None
        self.source = ""  # how the targets' source is called (targets_source)
        self.setMinimumSize(240, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("目标完成情况图")

    @property
    def points(self) -> tuple[tuple[int, str, Decimal], ...]:
        return self.series.points if self.series is not None else ()

    def set_series(self, series: Series | None) -> None:
        self.series = series
        lines = [f"{y} 年{k}：{_num(v)}" for y, k, v in series.points] if series is not None else []
        self.setToolTip("\n".join([chart_note(self.source), *lines]))
        self.update()

    def bars(self) -> list[tuple[int, str, Decimal, QRectF]]:
        """(year, kind, value, rectangle) of each bar at the current size."""
        return self._layout()[0]

    def _layout(self):
        fm = self.fontMetrics()
        pts = self.points
        if not pts:
            return [], None, []
        values = [v for _, _, v in pts]
        ticks = _ticks(min(Decimal(0), min(values)), max(Decimal(0), max(values)))
        lo, hi = ticks[0], ticks[-1]
        left = max(fm.horizontalAdvance(_num(t)) for t in ticks) + 12
        top = fm.height() + 14  # the legend
        bottom = fm.height() + 10  # the years
        plot = QRectF(left, top + fm.height() // 2, self.width() - left - 10,
                      self.height() - top - bottom - fm.height() // 2)
        span = float(hi - lo) or 1.0

        def y_of(v: Decimal) -> float:
            return plot.bottom() - float(v - lo) / span * plot.height()

        years = sorted({y for y, _, _ in pts})
        group_w = plot.width() / len(years)
        bars = []
        for i, year in enumerate(years):
            here = [(k, v) for y, k, v in pts if y == year]
            here.sort(key=lambda kv: KINDS.index(kv[0]) if kv[0] in KINDS else len(KINDS))
            bar_w = min(34.0, group_w * 0.7 / len(here))
            x0 = plot.left() + i * group_w + (group_w - bar_w * len(here)) / 2
            for j, (kind, v) in enumerate(here):
                y0, y1 = y_of(max(v, Decimal(0)) if lo < 0 else v), y_of(min(v, Decimal(0)) if lo < 0 else lo)
                bars.append((year, kind, v, QRectF(x0 + j * bar_w + 1, min(y0, y1), bar_w - 2, abs(y1 - y0))))
        grid = [(t, y_of(t)) for t in ticks]
        return bars, plot, grid

    def paintEvent(self, _e) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        fm = self.fontMetrics()
        bars, plot, grid = self._layout()
        if plot is None:
            p.setPen(QColor(style.GREY))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "此指标暂无可绘制的数值")
            p.end()
            return
        # legend
        x = plot.left()
        kinds = [k for k in KINDS if any(b[1] == k for b in bars)]
        for kind in kinds:
            p.fillRect(QRectF(x, 6 + (fm.height() - 10) / 2, 10, 10), QColor(KIND_COLOR[kind]))
            p.setPen(QColor("#333333"))
            p.drawText(QPointF(x + 14, 6 + fm.ascent()), kind)
            x += 14 + fm.horizontalAdvance(kind) + 16
        # grid and its labels
        for t, y in grid:
            p.setPen(QPen(QColor("#e3e7ec"), 1))
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.setPen(QColor(style.GREY))
            label = _num(t)
            p.drawText(QPointF(plot.left() - 6 - fm.horizontalAdvance(label), y + fm.ascent() / 2 - 1), label)
        p.setPen(QPen(QColor("#9aa4af"), 1))
        p.drawLine(QPointF(plot.left(), plot.bottom()), QPointF(plot.right(), plot.bottom()))
        # bars with their values
        small = QFont(self.font())
        if self.font().pointSizeF() > 0:
            small.setPointSizeF(max(7.0, self.font().pointSizeF() - 1.5))
        last_right = -1.0e9
        for _year, kind, v, r in bars:
            p.fillRect(r, QColor(KIND_COLOR.get(kind, "#888888")))
            p.setFont(small)
            p.setPen(QColor("#333333"))
            text = _num(v)
            w = p.fontMetrics().horizontalAdvance(text)
            x = r.center().x() - w / 2
            if x >= last_right + 2:  # a label that would touch its neighbour is left to the tooltip
                p.drawText(QPointF(x, r.top() - 3), text)
                last_right = x + w
            p.setFont(self.font())
        # years under the groups
        years = sorted({b[0] for b in bars})
        group_w = plot.width() / len(years)
        p.setPen(QColor("#333333"))
        for i, year in enumerate(years):
            text = f"{year}年"
            w = fm.horizontalAdvance(text)
            p.drawText(QPointF(plot.left() + i * group_w + (group_w - w) / 2, plot.bottom() + 4 + fm.ascent()), text)
        p.end()


COLUMNS = ["方向", "指标", "目标值", "完成值", "情况"]


class _FitTable(QTableWidget):
    """The 目标完成情况 table: in a narrow dock the 方向/目标值/完成值 columns give up width (their
    text wraps) so that the 指标 column stays readable."""

    def __init__(self) -> None:
        super().__init__(0, len(COLUMNS))
        fm = self.fontMetrics()
        pad = 14
        self.preferred = {0: fm.horizontalAdvance("主导产业") + pad,
                          2: fm.horizontalAdvance("0.36吨/万元") + pad,
                          3: fm.horizontalAdvance("520.00（计算）") + pad,  # a computed number on one line
                          4: fm.horizontalAdvance("未达成") + pad}
        self.min_indicator = fm.horizontalAdvance("有效发明专利") + pad
        hh = self.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.fit_columns()

    def fit_columns(self) -> None:
        avail = self.viewport().width()
        want = sum(self.preferred.values()) + self.min_indicator
        narrow = avail < want
        self.setColumnHidden(0, narrow)  # 方向 is also in the 指标 tooltip and the chart's combo box
        if narrow:
            want -= self.preferred[0]
        shrinkable = (2, 3)
        spare = sum(self.preferred[j] for j in shrinkable)
        factor = 1.0 if avail >= want else max(0.7, 1 - (want - avail) / spare)
        for j, w in self.preferred.items():
            self.setColumnWidth(j, int(w * factor) if j in shrinkable else w)

    def resizeEvent(self, e) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(e)
        self.fit_columns()


class AchievementPanel(QWidget):
    """目标完成情况: each indicator's 目标值 and 完成值 with 达成/未达成, and a chart over the years."""

    jump = Signal(str)  # the targets table's key, to show it in the form

    def __init__(self, ctl: DraftController):
        super().__init__()
        self.ctl = ctl
        self.form = ctl.form
        a = self.form.form.achievement
        assert a is not None
        self.table_key = a.table
        self.rows: list[Achieved] = []
        self.series: list[Series] = []
        self._dirty = True
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(6)
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        _, field = self.form.field(a.table)
        self.help = style.label(f"完成值在“{field.label}”中填写；标“计算”的由本报告中的数据算出"
                                "（鼠标停留可看公式）。双击一行可跳到该表。", "help")
        lay.addWidget(self.help)

        self.table = _FitTable()
        self.table.setAccessibleName("目标完成情况表")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(True)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setMinimumHeight(110)
        self.table.itemDoubleClicked.connect(lambda _it: self.jump.emit(self.table_key))
        self.table.currentCellChanged.connect(self._on_row)

        chart_box = QWidget()
        cl = QVBoxLayout(chart_box)
        cl.setContentsMargins(0, 4, 0, 0)
        cl.setSpacing(4)
        row = QHBoxLayout()
        row.addWidget(style.label("指标：", "label", wrap=False))
        self.combo = QComboBox()
        self.combo.setAccessibleName("图表指标")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(10)
        self.combo.currentIndexChanged.connect(self._on_combo)
        row.addWidget(self.combo, 1)
        cl.addLayout(row)
        self.chart = ProgressChart()
        self.chart.source = targets_source(self.form)
        cl.addWidget(self.chart, 1)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(chart_box)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        lay.addWidget(self.splitter, 1)
        self.refresh()

    # -- data from the core --
    def refresh(self) -> None:
        """Re-read 目标完成情况 and the chart's series (after every change)."""
        if not self.isVisible() and self.rows:
            self._dirty = True  # done when shown again
            return
        self._dirty = False
        s = self.ctl.session
        self.rows = achievement(self.form, s.answers())
        try:
            self.series = progress(s.store, s.draft_id, s.catalog)
        except (StoreError, KeyError):
            self.series = []
        self._fill_table()
        self._fill_combo()

    def showEvent(self, e) -> None:  # noqa: N802 - Qt API
        super().showEvent(e)
        if self._dirty:
            self.refresh()

    def _fill_table(self) -> None:
        counts = {k: 0 for k in STATUS_COLOR}
        self.table.setRowCount(len(self.rows))
        bold = QFont(self.table.font())
        bold.setBold(True)
        for i, a in enumerate(self.rows):
            counts[a.status] = counts.get(a.status, 0) + 1
            actual = a.actual or "—"
            cells = [a.direction, a.indicator, a.target or "—", f"{actual}（计算）" if a.computed else actual, a.status]
            for j, text in enumerate(cells):
                it = QTableWidgetItem(text)
                it.setData(Qt.ItemDataRole.UserRole, a.key)
                if j == 1:
                    it.setToolTip(f"{a.direction} · {a.indicator}")
                if j == 3 and a.computed:
                    it.setToolTip(f"按公式计算：{a.formula}" if a.formula else "由本报告中的数据计算")
                    it.setForeground(QColor(style.ACCENT))
                elif j in (2, 3):
                    it.setToolTip(text)
                if j == 4:
                    it.setForeground(QColor(STATUS_COLOR.get(a.status, style.GREY)))
                    if a.status in ("达成", "未达成"):
                        it.setFont(bold)
                    it.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(i, j, it)
        parts = [f'<span style="color:{STATUS_COLOR[k]}; font-weight:bold">{k} {n} 项</span>'
                 for k, n in counts.items() if n or k in ("达成", "未达成")]
        self.summary.setText(f"{self.form.form.year} 年目标完成情况：" + "　".join(parts))

    def _fill_combo(self) -> None:
        current = self.combo.currentData()
        direction = {a.key: a.direction for a in self.rows}
        self.combo.blockSignals(True)
        try:
            self.combo.clear()
            for sr in self.series:
                d = direction.get(sr.key)
                self.combo.addItem(f"{d} · {sr.indicator}" if d else sr.indicator, sr.key)
            idx = self.combo.findData(current) if current is not None else -1
            self.combo.setCurrentIndex(idx if idx >= 0 else (0 if self.series else -1))
        finally:
            self.combo.blockSignals(False)
        self._on_combo(self.combo.currentIndex())

    def _on_combo(self, index: int) -> None:
        key = self.combo.itemData(index) if index >= 0 else None
        self.chart.set_series(next((sr for sr in self.series if sr.key == key), None))

    def _on_row(self, row: int, *_: Any) -> None:
        if 0 <= row < len(self.rows):
            idx = self.combo.findData(self.rows[row].key)
            if idx >= 0:
                self.combo.setCurrentIndex(idx)

    # -- for tests and screen readers --
    def status_of(self, key: str) -> str:
        return next(a.status for a in self.rows if a.key == key)

    def show_indicator(self, key: str) -> bool:
        idx = self.combo.findData(key)
        if idx >= 0:
            self.combo.setCurrentIndex(idx)
        return idx >= 0

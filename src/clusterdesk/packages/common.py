"""The district's names and errors, shared by the workspace, the summary and the compile."""

from __future__ import annotations

from clusterdesk.errors import ClusterDeskError
from clusterdesk.model.rules import Problem
from clusterdesk.model.schema import EVIDENCE_GENERAL


CHECKLIST_NAME = "寄送清单.docx"
ELECTRONIC_ZIP = "电子版.zip"
#: Each cluster's evidence goes into this folder of its own folder (and of 电子版.zip).
EVIDENCE_DIR = EVIDENCE_GENERAL
#: How the compile report names a ticked box whose evidence was not attached.
NOT_ATTACHED = "未附（纸质提供）"


class DistrictError(ClusterDeskError):
    """A request the district workspace refuses; ``lines``: one Chinese line each."""


class ClusterCapExceeded(DistrictError):
    """More clusters than the notice allows (重庆：原则上不超过3个，对超过报送数量的，不予受理)."""

    def __init__(self, rule: str, cap: int, count: int):
        self.rule, self.cap, self.count = rule, cap, count
        super().__init__(rule)


class NotAClusterForm(DistrictError):
    """A draft or package of a district form (申报汇总表, 区总结) offered as one of the clusters."""

    def __init__(self, title: str, form_title: str, role: str):
        self.role, self.form_title = role, form_title
        super().__init__(f"“{title}”填写的是“{form_title}”，不是集群的申报材料，不能加入区县名单")


class CompileRefused(DistrictError):
    """A document of the submission has errors and draft copies were not allowed."""

    def __init__(self, lines: list[str], problems: dict[str, list[Problem]]):
        self.problems = problems
        super().__init__(*lines)

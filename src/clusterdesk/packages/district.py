"""The district's submission (区县中小企业主管部门): one name for what the workspace, the officer's
汇总表 and the compile offer (``workspace.py``, ``summary.py``, ``compile.py``; names and errors in
``common.py``). The GUI and the command line import from here."""

from __future__ import annotations

from .common import (
    CHECKLIST_NAME,
    ClusterCapExceeded,
    CompileRefused,
    DistrictError,
    ELECTRONIC_ZIP,
    EVIDENCE_DIR,
    NOT_ATTACHED,
    NotAClusterForm,
)
from .compile import CompileResult, CompiledDocument, classify, compile_district
from .records import META_CLUSTERS, META_DISTRICT, META_PREFILL, replace_cluster_reference
from .summary import infer_notice, plan_summary, prefilled_summary, read_summary, summary_note
from .workspace import (
    ClusterStatus,
    District,
    DistrictWorkspace,
    SummaryFile,
    cluster_district,
    cluster_row,
    cluster_status,
    column_value,
    create_district,
    find_district,
    find_districts,
    notice_forms,
    notices,
    same_district,
    summary_spec,
)

__all__ = [
    "CHECKLIST_NAME",
    "ELECTRONIC_ZIP",
    "EVIDENCE_DIR",
    "NOT_ATTACHED",
    "ClusterCapExceeded",
    "ClusterStatus",
    "CompileRefused",
    "CompileResult",
    "CompiledDocument",
    "District",
    "DistrictError",
    "DistrictWorkspace",
    "NotAClusterForm",
    "SummaryFile",
    "classify",
    "cluster_row",
    "cluster_status",
    "column_value",
    "compile_district",
    "create_district",
    "find_district",
    "find_districts",
    "infer_notice",
    "notice_forms",
    "notices",
    "plan_summary",
    "read_summary",
    "replace_cluster_reference",
    "summary_spec",
    "META_DISTRICT",
    "META_CLUSTERS",
    "META_PREFILL",
    "cluster_district",
    "same_district",
    "prefilled_summary",
    "summary_note",
]

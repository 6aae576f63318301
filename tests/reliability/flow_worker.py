"""The whole user journey without a network, in process or as a child process (``python flow_worker.py DIR``).

As a script it installs an audit hook BEFORE importing the app, so even a connection attempted at
import time is caught; it prints one JSON line ``{"network": [...], "steps": {...}}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

NETWORK_EVENTS = {"socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
                  "socket.sendto", "socket.sendmsg", "urllib.Request", "http.client.connect", "smtplib.connect",
                  "ftplib.connect", "webbrowser.open"}
seen: list[str] = []


def audit(event: str, args) -> None:
    if event in NETWORK_EVENTS:
        seen.append(f"{event} {args!r}"[:200])
    elif event == "socket.__new__" and len(args) > 1 and args[1] in (2, 10):  # AF_INET, AF_INET6
        seen.append(f"{event} {args!r}"[:200])


def full_flow(work: Path) -> dict[str, int]:
    """Fill the demo application field by field, add its evidence, validate, export templates and
    import them back, export the documents and go through a data package when those exist."""
    import importlib.util

    from clusterdesk.model.form import default_catalog
    from clusterdesk.service import DraftSession, create_draft
    from clusterdesk.store import Store
    from clusterdesk.templates import _write_xlsx_template, import_file, write_template

    root = Path(__file__).resolve().parents[2]
    demo = json.loads((root / "demo" / "cq-2024-application.json").read_text(encoding="utf-8"))
    form = default_catalog().get(demo["form"])
    steps: dict[str, int] = {}
    work.mkdir(parents=True, exist_ok=True)
    with Store.open(work / "data" / "clusterdesk.sqlite3") as store:
        session = DraftSession(store, create_draft(store, form).id)
        for cell in form.answerable_cells:  # in form order, as a user would
            if cell.key in demo["answers"]:
                session.set(cell.key, demo["answers"][cell.key])
                steps["fields_set"] = steps.get("fields_set", 0) + 1
        for key, notes in (demo.get("notes") or {}).items():
            session.set_note(key, notes)
        for key, by_option in demo["evidence"].items():
            for option, files in by_option.items():
                for rel in files:
                    session.add_evidence(key, option if form.cell(key).field.evidence == "ticked" else None,
                                         root / "demo" / rel)
                    steps["evidence_added"] = steps.get("evidence_added", 0) + 1
        session.problems()
        session.eligibility()
        assert store.get_answers(session.draft_id) == session.values

        write_template(form, work / "模板.json")
        write_template(form, work / "模板.xlsx")
        _write_xlsx_template(form, work / "已填.xlsx", session.values)
        back = import_file(store, work / "已填.xlsx")
        steps["xlsx_round_trip_equal"] = int(store.get_answers(back) == session.values)
        import_file(store, root / "demo" / "cq-2024-application.json")
        steps["templates"] = 4

        if importlib.util.find_spec("clusterdesk.export.api") is not None:
            from clusterdesk.export.api import export_draft

            out = work / "导出"
            out.mkdir()
            steps["exported_files"] = len(export_draft(store, session.draft_id, out, pdf=False, draft_copy=True).files)
        if importlib.util.find_spec("clusterdesk.packages") is not None:
            from clusterdesk import packages

            pkg = packages.write_package(store, session.draft_id, work / "数据包.cdpkg",
                                         documents=importlib.util.find_spec("clusterdesk.export.api") is not None)
            with Store.open(work / "district" / "clusterdesk.sqlite3") as other:
                outcome = packages.import_package(other, pkg)
                steps["package_round_trip_equal"] = int(other.get_answers(outcome.draft_id) == session.values)
    return steps


if __name__ == "__main__":
    sys.addaudithook(audit)
    result = full_flow(Path(sys.argv[1]))
    sys.stdout.write(json.dumps({"network": seen, "steps": result}, ensure_ascii=False) + "\n")

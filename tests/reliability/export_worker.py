"""Child process of the export tests: writes every export kind into FOLDER under a file-size limit.

``RLIMIT_FSIZE`` with SIGXFSZ ignored makes ``write`` fail with EFBIG once a file would grow past
the limit: the same code path as a full disk, without needing root.  Prints one JSON line:
``{kind: {"error": class name, "message": str}}``.
"""

from __future__ import annotations

import json
import random
import resource
import signal
import sys
from pathlib import Path

from clusterdesk.export import word as dk
from clusterdesk.export.atomic import atomic_write
from clusterdesk.export.xlsxkit import SheetSpec, write_workbook
from clusterdesk.model.form import default_catalog
from clusterdesk.templates import write_template


def big_text(rng: random.Random, n: int) -> str:
    return "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(n))


def writers(folder: Path):
    rng = random.Random(3)
    form = default_catalog().get("cq-2024-application")

    def raw():
        with atomic_write(folder / "raw.bin") as fh:
            for _ in range(64):
                fh.write(rng.randbytes(16384))

    def xlsx():
        rows = [[i, big_text(rng, 60), f"{i}.50"] for i in range(3000)]
        write_workbook(folder / "清单.xlsx", [SheetSpec("清单", ["序号", "内容", "金额"], rows)])

    def docx():
        doc = dk.new_document()
        for _ in range(400):
            dk.add_paragraph(doc, big_text(rng, 300))
        dk.save_docx(doc, folder / "申报书.docx")

    def template_json():
        write_template(form, folder / "模板.json")

    def template_xlsx():
        write_template(form, folder / "模板.xlsx")

    return {"atomic_write": raw, "write_workbook": xlsx, "save_docx": docx, "template_json": template_json,
            "template_xlsx": template_xlsx}


def main() -> None:
    folder = Path(sys.argv[1])
    limit = int(sys.argv[2])
    jobs = writers(folder)
    if len(sys.argv) > 3:
        jobs = {k: v for k, v in jobs.items() if k in sys.argv[3].split(",")}
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    out = {}
    for name, job in jobs.items():
        try:
            job()
            out[name] = {"error": None, "message": ""}
        except Exception as exc:  # reported to the parent, which decides
            out[name] = {"error": type(exc).__name__, "message": str(exc)}
    sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

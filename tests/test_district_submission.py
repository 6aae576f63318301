"""The district's submission finished from the command line, as an officer does it (issue 17).

Three operating bodies fill the application from templates with their evidence and hand in data
packages; the district officer prefills the 汇总表 template from the packages, fills 集群成立时间 and
集群简介 in Excel, and compiles with ``--summary`` (no ``--draft``, no ``--notice``). Everything runs
through the real ``clusterdesk`` program in a subprocess; the checks read the compiled files back.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from cd_support import DEMO, run_cli

INDUSTRIES = ["永川数控机床产业", "永川智能装备产业", "永川食品加工产业"]
CHAIN = "industry.chain_work"
RISK = "开展供应链风险评估工作，建立供应链风险防范机制"
MAP = "绘制产业链图谱，开展产业链培育"
BRAND = "建立了品牌运营、品牌管理标准宣贯等机制"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(200))
NOT_ATTACHED = "未附（纸质提供）"


def cluster_name(industry: str) -> str:
    return f"重庆市中小企业特色产业集群（{industry}）"


def write_cluster_template(folder: Path, industry: str, *, second: bool = False) -> Path:
    """The demo application under its own name, with its evidence beside it. The second cluster
    ticks a box without attaching anything, attaches a picture as a second file of another box,
    and a PDF under a .doc name (delivered by its checked content, as .pdf)."""
    folder.mkdir(parents=True)
    shutil.copytree(DEMO / "evidence", folder / "evidence")
    data = json.loads((DEMO / "cq-2024-application.json").read_text(encoding="utf-8"))
    data["answers"]["cover.cluster_name"] = cluster_name(industry)
    if second:
        ev = data["evidence"]
        assert RISK in data["answers"][CHAIN]
        del ev[CHAIN][RISK]
        (folder / "evidence" / "产业链图谱截图.png").write_bytes(PNG)
        ev[CHAIN][MAP] = ev[CHAIN][MAP] + ["evidence/产业链图谱截图.png"]
        (folder / "evidence" / "品牌机制说明.doc").write_bytes((folder / "evidence" / "质量品牌建设佐证.pdf").read_bytes())
        ev["industry.brand_work"][BRAND] = ["evidence/品牌机制说明.doc"]
    path = folder / "申报表.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def fill_summary_xlsx(path: Path, founded: list[str], intro: list[str], industry_of_second: str) -> None:
    """The officer opens the template in Excel and fills the two columns that are theirs."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    meta = {r[0].value: r[1].value for r in wb["说明"].iter_rows() if r[0].value}
    sheet = wb[json.loads(meta["repeat_sheets"])["summary.clusters"]]
    ids = [c.value for c in sheet[2]]
    for i in range(3):
        row = 3 + i
        sheet.cell(row=row, column=ids.index("founded") + 1, value=founded[i])
        sheet.cell(row=row, column=ids.index("intro") + 1, value=intro[i])
    sheet.cell(row=4, column=ids.index("industry") + 1, value=industry_of_second)
    wb.save(path)


def docx_tables(path: Path) -> list[list[list[str]]]:
    import docx

    return [[[c.text for c in row.cells] for row in t.rows] for t in docx.Document(str(path)).tables]


def docx_paragraphs(path: Path) -> list[str]:
    import docx

    return [p.text for p in docx.Document(str(path)).paragraphs]


@pytest.fixture(scope="module")
def submission(tmp_path_factory):
    """Packages from three clusters, the officer's filled 汇总表, and the compiled folder."""
    root = tmp_path_factory.mktemp("submission")
    clusters_db = root / "clusters.sqlite3"
    packages: list[Path] = []
    templates: list[Path] = []
    for n, industry in enumerate(INDUSTRIES, start=1):
        tpl = write_cluster_template(root / f"cluster{n}", industry, second=n == 2)
        templates.append(tpl)
        draft_id = ok(run_cli("import", str(tpl), db=clusters_db)).strip()
        pkg = root / f"{industry}.cdpkg"
        ok(run_cli("package", draft_id, "--out", str(pkg), "--no-documents", db=clusters_db))
        packages.append(pkg)

    db = root / "district.sqlite3"
    summary = root / "永川区汇总表.xlsx"
    ok(run_cli("template", "cq-2024-summary", "--district", "永川区", *map(str, packages),
               "--authority", "重庆市永川区经济和信息化委员会", "--contact", "张华", "--phone", "13983012468",
               "--out", str(summary), db=db))
    founded = ["2013年6月", "2015年9月", "2012年3月"]
    intro = [f"{i}集群位于永川区，集聚企业百余家。" for i in INDUSTRIES]
    fill_summary_xlsx(summary, founded, intro, "智能装备及机器人")
    out = root / "永川区-2024年度报送材料"
    result = run_cli("district", "compile", "--district", "永川区", *map(str, packages), "--summary", str(summary),
                     "--out", str(out), db=db)
    assert result.returncode == 0, result.stderr
    return {"root": root, "out": out, "result": result, "templates": templates, "founded": founded, "intro": intro}


def test_the_summary_rows_carry_the_officers_columns(submission):
    out = submission["out"]
    [printed] = [p for p in out.iterdir() if p.name.endswith("申报汇总表.docx")]
    table = next(t for t in docx_tables(printed) if t[0][:2] == ["序号", "集群名称"])
    assert table[0] == ["序号", "集群名称", "集群运营管理机构", "所在区（县）", "主导产业", "集群成立时间",
                        "集群简介（150字以内）"]
    rows = table[1:]
    assert [r[0] for r in rows] == ["1", "2", "3"]
    assert [r[1] for r in rows] == [cluster_name(i) for i in INDUSTRIES]
    assert [r[3] for r in rows] == ["永川区"] * 3
    # 主导产业 from the name without the district; the officer's own value wins
    assert [r[4] for r in rows] == ["数控机床产业", "智能装备及机器人", "食品加工产业"]
    assert [r[5] for r in rows] == submission["founded"]
    assert [r[6] for r in rows] == submission["intro"]
    paragraphs = "\n".join(docx_paragraphs(printed))
    assert "重庆市永川区经济和信息化委员会" in paragraphs and "张华 13983012468" in paragraphs
    assert "草稿" not in paragraphs and "草稿" not in printed.name


def _evidence_index(printed_form: Path) -> list[tuple[str, str, list[str]]]:
    """The 佐证材料目录 of a printed form: (section and field, option, files) per row."""
    table = next(t for t in docx_tables(printed_form) if t[0] == ["序号", "所属部分及栏目", "勾选内容", "佐证材料文件"])
    return [(r[1], r[2], r[3].split("\n")) for r in table[1:]]


def test_evidence_in_the_folder_and_the_zip_byte_for_byte_as_the_index_lists_them(submission):
    from clusterdesk.model.form import default_catalog

    out = submission["out"]
    form = default_catalog().get("cq-2024-application")
    by_label = {f"{c.section.title}\n{c.name or c.field.label}": c.key for c in form.cells}
    with zipfile.ZipFile(out / "电子版.zip") as zf:
        zipped = {n: zf.read(n) for n in zf.namelist()}
    for n, (industry, template) in enumerate(zip(INDUSTRIES, submission["templates"]), start=1):
        folder = out / f"{n}-{industry}" / "佐证材料"
        delivered = sorted(p.name for p in folder.iterdir())
        [printed] = [p for p in folder.parent.iterdir() if p.name.endswith("-申报表.docx")]
        index = _evidence_index(printed)
        listed = [f for _, _, files in index for f in files if f != NOT_ATTACHED]
        assert sorted(listed) == delivered and len(set(listed)) == len(listed)
        attached = json.loads(template.read_text(encoding="utf-8"))["evidence"]
        for where, option, files in index:
            key = by_label[where]
            sources = attached.get(key, {}).get(option if option in form.cell(key).field.options else
                                                ("是" if option == "是" else "佐证材料"), [])
            if files == [NOT_ATTACHED]:
                assert not sources, (where, option)
                continue
            assert len(files) == len(sources)
            for name, src in zip(files, sources):
                data = (template.parent / src).read_bytes()
                assert (folder / name).read_bytes() == data, name
                assert zipped[f"{n}-{industry}/佐证材料/{name}"] == data, name
                assert name.split("-")[0] == where.split("、")[0]  # named by its section: 二-…
        assert len([m for m in zipped if m.startswith(f"{n}-{industry}/佐证材料/")]) == len(delivered)
    first = sorted(p.name for p in (out / f"1-{INDUSTRIES[0]}" / "佐证材料").iterdir())
    assert "二-1-绘制产业链图谱.pdf" in first  # section 二, its first box list, the option's words
    assert "五-1-建立了集群碳排放监测机制.pdf" in first  # a 是 that needs evidence: the field's words
    assert "六-2-集群或集群内企业在境外设立分支机构数量.pdf" in first
    second = sorted(p.name for p in (out / f"2-{INDUSTRIES[1]}" / "佐证材料").iterdir())
    assert {"二-1-绘制产业链图谱-1.pdf", "二-1-绘制产业链图谱-2.png"} <= set(second)  # two files of one box
    assert f"二-3-{BRAND}.pdf" in second  # a PDF attached under a .doc name goes by its content: .pdf
    assert not any(s.endswith(".doc") for s in second)


def test_a_ticked_box_without_evidence_is_reported_and_printed_as_on_paper(submission):
    out = submission["out"]
    lines = submission["result"].stderr.splitlines()
    missing = [ln for ln in lines if NOT_ATTACHED in ln]
    assert missing == [f"提示：“{cluster_name(INDUSTRIES[1])}”：二、主导产业情况 · 集群已开展的产业链强链补链工作 · "
                       f"{RISK}：{NOT_ATTACHED}"]
    [printed] = [p for p in (out / f"2-{INDUSTRIES[1]}").iterdir() if p.name.endswith("-申报表.docx")]
    rows = [r for r in _evidence_index(printed) if r[1] == RISK]
    assert [r[2] for r in rows] == [[NOT_ATTACHED]]
    checklist = "\n".join(docx_paragraphs(out / "寄送清单.docx"))
    assert f"{RISK}：{NOT_ATTACHED}" in checklist


def test_the_mailing_checklist_follows_the_notice_point_by_point(submission):
    from clusterdesk.model.form import default_catalog

    notice = default_catalog().get("cq-2024-summary").form.notice
    out = submission["out"]
    path = out / "寄送清单.docx"
    tables = docx_tables(path)
    paper = next(t for t in tables if t[0] == ["序号", "材料", "文件", "份数", "盖章", "核对"])[1:]
    expected = []
    for n, industry in enumerate(INDUSTRIES, start=1):
        expected.append((f"{industry}集群 申报表", "一式2份", "盖章"))
        expected.append((f"{industry}集群 佐证材料", "一式2份", "—"))
    expected.append(("申报汇总表", "2份", "盖章"))
    assert [(r[1].split("（")[0], r[3], r[4]) for r in paper] == expected
    assert not any(r[2].endswith((".xlsx", "可编辑版.docx")) for r in paper)  # never the Excel lists on paper
    for n, industry in enumerate(INDUSTRIES, start=1):
        row = next(r for r in paper if r[1].startswith(f"{industry}集群 佐证材料"))
        count = len(list((out / f"{n}-{industry}" / "佐证材料").iterdir()))
        assert row[2] == f"{n}-{industry}/佐证材料/" and f"{count} 个文件" in row[1]
    text = "\n".join(docx_paragraphs(path))
    for quote in notice.requirements:
        assert f"通知原文：{quote}" in text
    email = notice.email
    assert (f"□ 盖章版PDF：上列纸质材料加盖公章后，将每份材料的全部页面扫描为PDF（不只是盖章页），"
            f"作为附件发送至邮箱{email}。") in text
    assert f"□ 可编辑电子版：“电子版.zip”中的全部文件" in text and f"发送至邮箱{email}。" in text
    assert "光盘" not in text  # Chongqing asks for no disc
    facts = dict(next(t for t in tables if t[0][0] == "截止时间"))
    assert facts == {"截止时间": "2024年3月25日18:00前", "报送至": "市经济信息委政务服务大厅",
                     "邮寄地址": "重庆市渝北区云杉南路12号市经济信息委政务服务大厅", "收件人": "郭老师",
                     "电话": "023—63897957", "电子邮箱": email, "联系人": "王小军；联系电话：63895574"}
    zipped = next(t for t in tables if t[0] == ["序号", "文件"])
    assert any(r[1] == f"1-{INDUSTRIES[0]}/佐证材料/（38 个佐证材料文件）" for r in zipped[1:])


def test_the_command_line_says_what_it_made(submission):
    lines = submission["result"].stdout.splitlines()
    assert lines[0] == str(submission["out"])
    assert f"\t1-{INDUSTRIES[0]}/佐证材料/（38 个佐证材料文件）" in lines
    assert "\t寄送清单.docx" in lines and "\t电子版.zip" in lines


def test_summary_rows_that_name_no_cluster_are_refused_one_line_each(submission, tmp_path):
    """A row of the officer's file for a cluster that is not submitted: refused, nothing written."""
    root = submission["root"]
    packages = sorted(root.glob("*.cdpkg"))
    db = tmp_path / "d.sqlite3"
    summary = tmp_path / "汇总表.json"
    ok(run_cli("template", "cq-2024-summary", "--district", "永川区", str(packages[0]), "--out", str(summary), db=db))
    data = json.loads(summary.read_text(encoding="utf-8"))
    rows = data["answers"]["summary.clusters"]
    rows[0].update(founded="2013年6月", intro="简介。")
    rows.append({"cluster_name": "重庆市中小企业特色产业集群（永川火锅产业）", "founded": "2020年"})
    rows.append({"cluster_name": "重庆市中小企业特色产业集群（永川茶叶产业）", "intro": "茶。"})
    summary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = run_cli("district", "compile", "--district", "永川区", str(packages[0]), "--summary", str(summary),
                     "--out", str(tmp_path / "out"), db=db)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"“汇总表.json”第2行的“集群名称”为“重庆市中小企业特色产业集群（永川火锅产业）”，不是本次报送的集群（本次报送：“{n}”）"
        for n in [cluster_name(INDUSTRIES[0])]] + [
        f"“汇总表.json”第3行的“集群名称”为“重庆市中小企业特色产业集群（永川茶叶产业）”，不是本次报送的集群（本次报送：“{cluster_name(INDUSTRIES[0])}”）"]
    assert not (tmp_path / "out").exists()
    assert ok(run_cli("drafts", db=db)) == ""  # nothing was imported


def test_a_summary_given_as_a_cluster_is_refused_with_the_way_to_give_it(submission, tmp_path):
    """The officer imports the filled 汇总表 and passes its draft id among the clusters (as the issue
    saw): refused, naming the form, and told to give it with --summary; nothing is written. The
    same id given with --summary compiles."""
    root = submission["root"]
    packages = sorted(root.glob("*.cdpkg"))
    db = tmp_path / "d.sqlite3"
    summary_id = ok(run_cli("import", str(root / "永川区汇总表.xlsx"), db=db)).strip()
    out = tmp_path / "out"
    result = run_cli("district", "compile", "--district", "永川区", *map(str, packages), summary_id,
                     "--out", str(out), db=db)
    assert result.returncode == 2
    title = "2024年度重庆市中小企业特色产业集群申报汇总表"
    assert result.stderr.splitlines() == [
        f"“重庆市永川区经济和信息化委员会”填写的是“{title}”，不是集群的申报材料，不能加入区县名单",
        f"区县填好的“{title}”请用 --summary 指定"]
    assert not out.exists()
    result = run_cli("district", "compile", "--district", "永川区", *map(str, packages), "--summary", summary_id,
                     "--out", str(out), db=db)
    assert result.returncode == 0, result.stderr
    assert (out / "寄送清单.docx").is_file() and "草稿" not in result.stdout


def test_a_cluster_missing_from_the_summary_file_is_named_when_the_compile_is_refused(submission, tmp_path):
    """The officer deletes a cluster's row from the file: that cluster keeps only what was prefilled,
    so 集群成立时间 is empty; the refusal names the row the file lacks, not just the table's row."""
    root = submission["root"]
    packages = sorted(root.glob("*.cdpkg"))
    db = tmp_path / "d.sqlite3"
    summary = tmp_path / "汇总表.json"
    ok(run_cli("template", "cq-2024-summary", "--district", "永川区", *map(str, packages), "--authority", "永川区经信委",
               "--contact", "张华", "--phone", "13983012468", "--out", str(summary), db=db))
    data = json.loads(summary.read_text(encoding="utf-8"))
    rows = data["answers"]["summary.clusters"]
    for row in rows:
        row.update(founded="2013年6月", intro="简介。")
    dropped = rows.pop(1)["cluster_name"]
    summary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = run_cli("district", "compile", "--district", "永川区", *map(str, packages), "--summary", str(summary),
                     "--out", str(tmp_path / "out"), db=db)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[-1] == f"“汇总表.json”中没有“{dropped}”这一行，请补上这一行"
    assert any("“集群成立时间”不能为空" in ln for ln in lines[:-1])
    assert not (tmp_path / "out").exists()

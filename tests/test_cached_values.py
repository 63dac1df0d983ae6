"""The XlsxWriter writers store every formula's value as its cached result.

Real outputs: the ``xlsales init`` templates, a workspace holding the sample team's data,
the pipeline (forecast and funnel) report and the monthly review. Every formula cell has a
cached value equal to LibreOffice's recalculation (one LibreOffice run for all of them),
the charts' caches hold the plotted numbers, and pandas (calamine) reads the real figures
without any recalculation. Workbooks later edited with openpyxl are not checked here.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from tests.helpers import read_block
from tests.strict import assert_strict
from tests.test_formula_values import agree, disagreements, formula_cells
from tests.test_pipeline import edge_team
from xlsales import figures
from xlsales.formula_values import NA_LABEL, ExcelError
from xlsales.i18n import LANGS, Label, Lang
from xlsales.io.libreoffice import recalculate_many
from xlsales.io.xlsx_writer import _Formats, write_table
from xlsales.jobs import run_forecast, run_funnel, run_review, write_pipeline
from xlsales.jobs.pipeline import LEVEL_LIST
from xlsales.sample import SAMPLE_TODAY, generate
from xlsales.tables.base import Column, Kind, TableSpec
from xlsales.tables.pipeline import FORECAST, FORECAST_LINES, FUNNEL, FUNNEL_SUMMARY, LEVELS
from xlsales.tables.review import HORIZONTAL, REVIEW
from xlsales.templates import build_templates
from xlsales.workspace import read_settings, write_workspace

MONTH = "2024-03"

# A table whose formulas give every kind of cached value.
KINDS = TableSpec("kinds", "Kinds", Label("类型", "Kinds"), Label("类型", "Kinds"), (
    Column("a", Label("a", "a"), Kind.NUMBER),
    Column("b", Label("b", "b"), Kind.NUMBER),
    Column("number", Label("数", "number"), Kind.FORMULA, formula="{a}/{b}"),
    Column("text", Label("文", "text"), formula='IF({a}>1,"big","small")'),
    Column("empty", Label("空", "empty"), formula='IF({a}>0,"","x")'),
    Column("flag", Label("真", "flag"), formula="{a}>{b}"),
    Column("date", Label("日", "date"), Kind.DATE, formula="IF({a}=0,\"\",{a}+45000)"),
), blank_rows=0)
KIND_ROWS = [{"a": 3, "b": 0}, {"a": 2, "b": 4}, {"a": 0, "b": 1}, {"a": "x", "b": 1}]


def write_kinds(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Kinds")
    write_table(ws, _Formats(wb), KINDS, KIND_ROWS, lang="en", options={},
                display=lambda _l, v: v, header_row=0, validations=False)
    wb.close()
    return path


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every workbook the XlsxWriter writers produce here, by a unique label."""
    root = tmp_path_factory.mktemp("outputs")
    files: dict[str, Path] = {}
    for path in build_templates(root / "templates"):
        files[f"template-{path.parent.name}-{path.name}"] = path
    sample = generate(2024)
    reviews, workspaces = {}, {}
    for lang in LANGS:
        ws = root / f"sample-{lang}"
        for path in write_workspace(ws, sample.settings, sample.data, lang=lang):
            files[f"sample-{lang}-{path.name}"] = path
        files[f"pipeline-{lang}"] = write_pipeline(ws, MONTH, today=SAMPLE_TODAY)
        reviews[lang] = run_review(ws, month=MONTH, today=SAMPLE_TODAY)
        files[f"review-{lang}"] = reviews[lang].written
        workspaces[lang] = ws
    settings, data = edge_team()
    edge = root / "edge"
    write_workspace(edge, settings, data)
    files["pipeline-edge"] = write_pipeline(edge, MONTH, today=dt.date(2024, 3, 29))
    workspaces["edge"] = edge
    files["kinds"] = write_kinds(root / "kinds.xlsx")
    return {"files": files, "reviews": reviews, "workspaces": workspaces, "root": root}


@pytest.fixture(scope="module")
def recalculated(outputs: dict[str, Any], soffice: str) -> dict[str, Path]:
    """LibreOffice's recalculation of every .xlsx output, in one run."""
    root: Path = outputs["root"]
    staged = {}
    for label, path in outputs["files"].items():
        if path.suffix == ".xlsx":
            staged[label] = root / "staged" / f"{label.replace('.xlsx', '')}.xlsx"
            staged[label].parent.mkdir(exist_ok=True)
            shutil.copyfile(path, staged[label])
    out = recalculate_many(list(staged.values()), root / "lo", soffice=soffice)
    return dict(zip(staged, out, strict=True))


def test_every_writer_output_is_here(outputs: dict[str, Any]) -> None:
    labels = set(outputs["files"])
    assert sum(label.startswith("template-") for label in labels) >= 12
    assert any(label.endswith(".xlsm") for label in labels)
    assert {"pipeline-zh", "pipeline-en", "pipeline-edge", "review-zh", "review-en",
            "kinds"} <= labels


def test_every_formula_has_a_cached_value(outputs: dict[str, Any]) -> None:
    total = 0
    for label, path in outputs["files"].items():
        for sheet, cells in formula_cells(path).items():
            missing = [rc for rc, (_, has_v, _) in cells.items() if not has_v]
            assert not missing, f"{label}!{sheet}: no cached value at {missing[:5]}"
            total += len(cells)
    assert total > 1000


def test_every_output_passes_the_checker(outputs: dict[str, Any]) -> None:
    for path in outputs["files"].values():
        assert_strict(path)


def test_full_calc_on_load_stays_on(outputs: dict[str, Any]) -> None:
    for label, path in outputs["files"].items():
        with zipfile.ZipFile(path) as z:
            book = z.read("xl/workbook.xml").decode()
        assert re.search(r'<calcPr[^>]*fullCalcOnLoad="1"', book), label


@pytest.mark.libreoffice
def test_cached_values_equal_libreoffices(outputs: dict[str, Any],
                                          recalculated: dict[str, Path]) -> None:
    problems, counts = [], {}
    for label, lo in recalculated.items():
        count, found = disagreements(outputs["files"][label], lo)
        counts[label] = count
        problems += found
    assert counts["pipeline-zh"] > 50 and counts["review-zh"] > 20
    assert not problems, f"{len(problems)} differ:\n" + "\n".join(problems[:30])


def test_cached_value_types_in_the_xml(outputs: dict[str, Any]) -> None:
    with zipfile.ZipFile(outputs["files"]["kinds"]) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    cells = {m.group(1): (m.group(2), m.group(3)) for m in re.finditer(
        r'<c r="([A-Z]+\d+)"([^>]*)><f>[^<]*</f><v>([^<]*)</v></c>', xml)}

    def kind(ref: str) -> tuple[str | None, str]:
        attrs, value = cells[ref]
        m = re.search(r'\bt="(\w+)"', attrs)
        return (m.group(1) if m else None), value

    # row 2: a=3, b=0; row 3: a=2, b=4; row 4: a=0; row 5: a="x"
    assert kind("C2") == ("e", "#DIV/0!")
    assert kind("C3") == (None, "0.5")
    assert kind("D2") == ("str", "big") and kind("D3") == ("str", "big")
    assert kind("D4") == ("str", "small")
    assert kind("E2") == ("str", "")  # the empty text is text, as Excel writes it
    assert kind("F2") == ("b", "1") and kind("F3") == ("b", "0")
    assert kind("G2") == (None, "45003") and kind("G4") == ("str", "")
    assert kind("C5") == ("e", "#VALUE!") and kind("F5") == ("b", "1")


@pytest.mark.libreoffice
def test_cached_value_types_agree_with_libreoffice(outputs: dict[str, Any],
                                                   recalculated: dict[str, Path]) -> None:
    mine = formula_cells(outputs["files"]["kinds"])["Kinds"]
    theirs = formula_cells(recalculated["kinds"])["Kinds"]
    assert mine.keys() == theirs.keys() and len(mine) == 5 * len(KIND_ROWS)
    for rc, (_, _, value) in mine.items():
        assert agree(value, theirs[rc][2]), (rc, value, theirs[rc][2])
    assert {type(v[2]) for v in mine.values()} >= {float, str, bool, ExcelError}


# -- read without recalculation -------------------------------------------------------------

def calamine_rows(path: Path, sheet: str) -> list[list[Any]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


@pytest.mark.parametrize("lang", LANGS)
def test_review_completion_reads_real_rates(outputs: dict[str, Any], lang: Lang) -> None:
    path = outputs["files"][f"review-{lang}"]
    df = pd.read_excel(path, sheet_name=REVIEW.sheet(lang), engine="calamine", header=2)
    headers = {c.key: c.header(lang) for c in REVIEW.columns}
    df = df[df[headers["metric"]].notna()]  # the table (a note about the sales is below it)
    na = NA_LABEL(lang)
    metrics = outputs["reviews"][lang].review.metrics
    assert len(df) == len(metrics)
    rates = []
    for m, (_, r) in zip(metrics, df.iterrows(), strict=True):
        assert r[headers["metric"]] == m.metric
        got = r[headers["completion"]]
        if m.target is None or m.actual is None:
            assert pd.isna(got) or got == ""
        elif m.target == 0:
            assert got == na
        else:
            assert math.isclose(got, figures.completion_rate(m.actual, m.target),
                                rel_tol=1e-9)
            rates.append(got)
    assert len(rates) >= 5 and all(x != 0 for x in rates)

    _, _, comparison = read_block(calamine_rows(path, HORIZONTAL.sheet(lang)), HORIZONTAL,
                                  lang)
    assert comparison
    for r in comparison:  # IF(N(quota)=0, no target, sales / quota)
        sales, quota = (r[k] if isinstance(r[k], float) else 0 for k in ("sales", "quota"))
        want = figures.completion_rate(sales, quota)
        assert r["completion"] == na if want is None else math.isclose(r["completion"], want)


def forecast_figures(root: Path, lang: Lang) -> dict[tuple[str, str], Any]:
    settings = read_settings(root)
    out = {}
    for level in ("rep", "region", "product", "team"):
        for r in run_forecast(root, MONTH, by=level).rows:  # type: ignore[arg-type]
            out[(LEVELS[level](lang), settings.display(LEVEL_LIST.get(level, ""), r.key,
                                                       lang))] = r
    return out


def same(cached: Any, figure: float | None, none: Any) -> bool:
    """A cached value against a Python figure (None shows as ``none``)."""
    if figure is None:
        return cached in none
    return isinstance(cached, int | float) and math.isclose(cached, figure, rel_tol=1e-9,
                                                             abs_tol=1e-9)


@pytest.mark.parametrize("case", ["zh", "en", "edge"])
def test_pipeline_cached_figures_are_pythons(outputs: dict[str, Any], case: str) -> None:
    """What the writer knew (the forecast and funnel figures), the formulas cache."""
    lang: Lang = "en" if case == "en" else "zh"
    root = outputs["workspaces"][case]
    path = outputs["files"][f"pipeline-{case}"]
    na = NA_LABEL(lang)
    problems = []
    _, _, rows = read_block(calamine_rows(path, FORECAST.sheet(lang)), FORECAST, lang)
    py = forecast_figures(root, lang)
    assert sorted((r["level"], r["key"]) for r in rows) == sorted(py)
    for r in rows:
        fig = py[(r["level"], r["key"])]
        for key in ("weighted", "commit", "best_case", "pipeline", "expected"):
            if not same(r[key], getattr(fig, key), ()):
                problems.append(f"{r['key']} {key}: {r[key]!r} != {getattr(fig, key)!r}")
        if not same(r["coverage"], fig.coverage, (na,)):
            problems.append(f"{r['key']} coverage: {r['coverage']!r} != {fig.coverage!r}")
        if not same(r["shortage"], fig.shortage, ("",)):
            problems.append(f"{r['key']} shortage: {r['shortage']!r} != {fig.shortage!r}")
    _, _, lines = read_block(calamine_rows(path, FORECAST_LINES.sheet(lang)), FORECAST_LINES,
                             lang)
    assert lines and all(same(r["weighted"], r["amount"] * r["probability"], ()) for r in lines)

    fu = run_funnel(root, MONTH, today=SAMPLE_TODAY if case != "edge" else dt.date(2024, 3, 29))
    sheet = calamine_rows(path, FUNNEL.sheet(lang))
    _, _, summary = read_block(sheet, FUNNEL_SUMMARY, lang)
    assert same(summary[0]["deals_needed"], fu.deals_needed, ("",))
    _, _, stages = read_block(sheet, FUNNEL, lang)
    assert len(stages) == len(fu.stages)
    for r, s in zip(stages, fu.stages, strict=True):
        for key in ("conversion", "needed"):
            if not same(r[key], getattr(s, key), ("",)):
                problems.append(f"{s.stage.label(lang)} {key}: {r[key]!r} != "
                                f"{getattr(s, key)!r}")
    assert not problems, "\n".join(problems)
    assert any(isinstance(r["weighted"], float) and r["weighted"] > 0 for r in rows)


# -- charts ---------------------------------------------------------------------------------

SERIES = re.compile(r"<c:val><c:numRef><c:f>(.*?)</c:f><c:numCache>(.*?)</c:numCache>", re.S)
POINT = re.compile(r'<c:pt idx="(\d+)"><c:v>([^<]*)</c:v></c:pt>')
RANGE = re.compile(r"^(?:'((?:[^']|'')+)'|([^!]+))!\$([A-Z]+)\$(\d+):\$([A-Z]+)\$(\d+)$")


def chart_series(path: Path) -> list[tuple[str, int, int, int, dict[int, float]]]:
    """Every numeric series: (sheet, column, first row, last row, cached points)."""
    from tests.test_formula_values import _address

    out = []
    with zipfile.ZipFile(path) as z:
        for name in sorted(n for n in z.namelist() if n.startswith("xl/charts/chart")):
            for f, cache in SERIES.findall(z.read(name).decode()):
                m = RANGE.match(f.replace("&apos;", "'"))
                assert m, f
                sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
                r0, c = _address(m.group(3) + m.group(4))
                r1, _ = _address(m.group(5) + m.group(6))
                points = {int(i): float(v) for i, v in POINT.findall(cache)}
                out.append((sheet, c, r0, r1, points))
    return out


@pytest.mark.libreoffice
@pytest.mark.parametrize("label", ["pipeline-zh", "pipeline-en", "pipeline-edge", "review-zh",
                                   "review-en"])
def test_chart_caches_hold_the_plotted_numbers(outputs: dict[str, Any],
                                               recalculated: dict[str, Path],
                                               label: str) -> None:
    series = chart_series(outputs["files"][label])
    assert series
    cells = formula_cells(recalculated[label], everything=True)
    plotted = 0
    for sheet, c, r0, r1, points in series:
        want = {}
        for i, r in enumerate(range(r0, r1 + 1)):
            value = cells[sheet].get((r, c), ("", False, None))[2]
            if isinstance(value, float) and not isinstance(value, ExcelError):
                want[i] = value
        assert points.keys() == want.keys(), (sheet, c, points, want)
        for i, v in want.items():
            assert math.isclose(points[i], v, rel_tol=1e-9, abs_tol=1e-12), (sheet, c, i)
        formula_column = any(cells[sheet].get((r, c), ("",))[0] for r in range(r0, r1 + 1))
        if formula_column:
            plotted += sum(1 for v in points.values() if v != 0)
    assert plotted > 0, "no formula column plots a non-zero number"


@pytest.mark.libreoffice
def test_libreoffice_with_its_default_settings_shows_the_real_completion(
        outputs: dict[str, Any], soffice: str, tmp_path: Path) -> None:
    """The review as a user's LibreOffice first shows it (no forced recalculation): the
    review sheet printed to PDF reads the real completion rates, not 0.0 %."""
    import subprocess

    from xlsales.io.libreoffice import convert

    lang: Lang = "en"
    src = tmp_path / "review.xlsx"
    shutil.copyfile(outputs["files"][f"review-{lang}"], src)
    pdf = convert(src, "pdf", tmp_path / "pdf", soffice=soffice, recalculate=False)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True, timeout=60).stdout
    shown = re.findall(r"(?<![\d.])(\d+\.\d)%", text)
    rates = [figures.completion_rate(m.actual, m.target)
             for m in outputs["reviews"][lang].review.metrics
             if m.target and m.actual is not None]
    wanted = [f"{r * 100:.1f}" for r in rates if r is not None]
    assert len(wanted) >= 5 and any(float(w) for w in wanted)
    missing = [w for w in wanted if w not in shown]
    assert not missing, f"not shown: {missing}; the PDF shows {shown[:40]}"

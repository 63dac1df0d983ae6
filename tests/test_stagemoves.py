"""The daily report's stage-move parser (xlsales/stagemoves.py)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlsales.settings import Settings
from xlsales.stagemoves import (
    MoveProblem,
    StageMove,
    _moves_one_by_one,
    moves_frame,
    parse_stage_moves,
)

S = Settings.default()
OPEN = [s for s in sorted(S.stages, key=lambda s: s.order) if s.kind == "open"]
ARROWS = ["→", "->", "=>", "-->", "—>", "⟶", "➡", "➔", "至", "－＞", "＝＞"]
COLONS = [":", "："]
SEPARATORS = [";", "；", "\n", "; ", " ；", ";;", "\n\n"]


def moves(text: str | None) -> list[tuple[str, str, str]]:
    found, _ = parse_stage_moves(text, S)
    return [(m.customer, m.from_stage, m.to_stage) for m in found]


def problems(text: str | None) -> list[tuple[str, str]]:
    _, found = parse_stage_moves(text, S)
    return [(p.kind, p.text) for p in found]


def test_the_spec_example() -> None:
    text = "客户C:需求分析→方案提交; 客户D:方案提交→报价与谈判"
    found, probs = parse_stage_moves(text, S)
    assert found == [StageMove("客户C", "需求分析", "方案提交", "客户C:需求分析→方案提交"),
                     StageMove("客户D", "方案提交", "报价与谈判", "客户D:方案提交→报价与谈判")]
    assert probs == []


@pytest.mark.parametrize("arrow", ARROWS)
@pytest.mark.parametrize("colon", COLONS)
def test_every_arrow_and_colon(arrow: str, colon: str) -> None:
    assert moves(f"客户C{colon}需求分析{arrow}方案提交") == [("客户C", "需求分析", "方案提交")]
    assert moves(f" 客户C {colon} 需求分析 {arrow} 方案提交 ") == [
        ("客户C", "需求分析", "方案提交")]


@pytest.mark.parametrize("sep", SEPARATORS)
def test_every_separator(sep: str) -> None:
    text = f"客户A:初步接触→需求分析{sep}客户B:方案提交→报价与谈判"
    assert moves(text) == [("客户A", "初步接触", "需求分析"), ("客户B", "方案提交", "报价与谈判")]
    assert moves(text + sep) == moves(text)


def test_english_names_and_aliases_map_to_the_canonical_stage() -> None:
    assert moves("Customer C:Needs analysis→Proposal") == [("Customer C", "需求分析", "方案提交")]
    assert moves("客户C:needs ANALYSIS->proposal") == [("客户C", "需求分析", "方案提交")]
    assert moves("客户C:需求分析→方案制定") == [("客户C", "需求分析", "方案提交")]
    assert moves("客户C:需求分析→方案制定/方案提交") == [("客户C", "需求分析", "方案提交")]
    assert moves("客户Ｃ：需求分析　→　方案提交") == [("客户C", "需求分析", "方案提交")]


def test_unknown_stage_is_an_error_and_no_move() -> None:
    found, probs = parse_stage_moves("客户F:需求分析→方案评审", S)
    assert found == []
    assert probs == [MoveProblem("unknown_stage", "客户F:需求分析→方案评审", "方案评审")]
    assert probs[0].severity == "error"
    _, probs = parse_stage_moves("客户F:调研→评审", S)
    assert probs[0].detail == "调研, 评审"


@pytest.mark.parametrize(("text", "kind"), [
    ("客户G:报价与谈判→需求分析", "backward"),
    ("客户G:方案提交→初步接触", "backward"),
    ("客户H:初步接触→方案提交", "skipped"),
    ("客户H:潜在客户识别→报价与谈判", "skipped"),
    ("客户K:需求分析→签约成交", "skipped"),      # into won past the open stages after it
    ("客户K:潜在客户识别→售后服务", "skipped"),
])
def test_backward_and_skipped_moves_are_warnings_and_still_moves(text: str, kind: str) -> None:
    found, probs = parse_stage_moves(text, S)
    assert len(found) == 1
    assert [(p.kind, p.text, p.severity) for p in probs] == [(kind, text, "warning")]
    assert probs[0].detail == f"{found[0].from_stage}→{found[0].to_stage}"


@pytest.mark.parametrize("text", [
    "客户J:报价与谈判→签约成交",        # the last open stage into won
    "客户J:签约成交→售后服务",          # won to after-sales
    "客户L:方案提交→输单",              # lost from anywhere
    "客户L:潜在客户识别→输单",
    "客户M:输单→需求分析",              # revived
    "客户N:需求分析→需求分析",          # no move at all, but not wrong
    "客户O:潜在客户识别→初步接触",
])
def test_moves_without_problems(text: str) -> None:
    found, probs = parse_stage_moves(text, S)
    assert len(found) == 1 and probs == []


@pytest.mark.parametrize("text", [
    "客户I 需求分析 方案提交",          # no colon
    "客户I:需求分析 方案提交",          # no arrow
    ":需求分析→方案提交",               # no customer
    "客户I:→方案提交",                  # no from-stage
    "客户I:需求分析→",                  # no to-stage
    "客户I:需求分析→方案提交→报价与谈判",  # two arrows
    "推进顺利",
])
def test_unparsed_is_an_error(text: str) -> None:
    found, probs = parse_stage_moves(text, S)
    assert found == []
    assert [(p.kind, p.severity) for p in probs] == [("unparsed", "error")]
    assert probs[0].text == text.strip()


def test_each_part_is_judged_on_its_own() -> None:
    text = "客户A:需求分析→方案提交；客户B:需求分析→方案评审\n客户C 推进;客户D:报价与谈判→需求分析"
    assert moves(text) == [("客户A", "需求分析", "方案提交"), ("客户D", "报价与谈判", "需求分析")]
    assert problems(text) == [("unknown_stage", "客户B:需求分析→方案评审"),
                              ("unparsed", "客户C 推进"),
                              ("backward", "客户D:报价与谈判→需求分析")]


@pytest.mark.parametrize("blank", [None, "", "  ", "\u3000", ";", "；\n;", "\u200b"])
def test_blank_is_nothing(blank: str | None) -> None:
    assert parse_stage_moves(blank, S) == ([], [])


def test_a_team_with_its_own_stages() -> None:
    from xlsales.settings import Stage

    custom = Settings.default().model_copy(update={"stages": [
        Stage(zh="线索", en="Lead", order=1, probability=0.1),
        Stage(zh="演示", en="Demo", order=2, probability=0.4),
        Stage(zh="赢单", en="Won", order=3, probability=1.0, kind="won")]})
    found, probs = parse_stage_moves("客户A:线索→赢单", custom)
    assert [(m.from_stage, m.to_stage) for m in found] == [("线索", "赢单")]
    assert [p.kind for p in probs] == ["skipped"]
    _, probs = parse_stage_moves("客户A:线索→需求分析", custom)
    assert [p.kind for p in probs] == ["unknown_stage"]


# -- properties ------------------------------------------------------------------------------------

NAMES = {s.canonical: [s.zh, s.en, s.en.upper(), s.en.lower()] for s in S.stages}
CUSTOMER = st.text(alphabet="客户甲乙丙丁华东科技公司ABCxyz0123()（）_&·.", min_size=1,
                   max_size=10).filter(lambda c: c.strip() == c)
STAGE = st.sampled_from(sorted(NAMES))


@st.composite
def rendered_moves(draw: st.DrawFn) -> tuple[str, list[tuple[str, str, str]]]:
    n = draw(st.integers(1, 5))
    parts, expected = [], []
    for _ in range(n):
        customer, frm, to = draw(CUSTOMER), draw(STAGE), draw(STAGE)
        pad = draw(st.sampled_from(["", " ", "\u3000", "  "]))
        text = (f"{customer}{pad}{draw(st.sampled_from(COLONS))}{pad}"
                f"{draw(st.sampled_from(NAMES[frm]))}{pad}{draw(st.sampled_from(ARROWS))}{pad}"
                f"{draw(st.sampled_from(NAMES[to]))}")
        parts.append(text)
        expected.append((customer, frm, to))
    text = parts[0]
    for part in parts[1:]:
        text += draw(st.sampled_from(SEPARATORS)) + part
    return text, expected


@given(rendered_moves())
def test_any_rendering_of_known_moves_parses_to_exactly_those_moves(
        case: tuple[str, list[tuple[str, str, str]]]) -> None:
    text, expected = case
    found, probs = parse_stage_moves(text, S)
    from xlsales.normalize import clean_text

    assert [(m.customer, m.from_stage, m.to_stage) for m in found] == [
        (clean_text(c), f, t) for c, f, t in expected]
    assert {p.kind for p in probs} <= {"backward", "skipped"}


@given(st.text())
def test_never_raises_on_arbitrary_text(text: str) -> None:
    found, probs = parse_stage_moves(text, S)
    assert all(m.from_stage in NAMES and m.to_stage in NAMES for m in found)
    assert all(p.kind in ("unknown_stage", "unparsed", "backward", "skipped") for p in probs)


@given(st.text(alphabet=":：;；→->=至 \n客户需求分析方案提交报价与谈判签约成交输单", max_size=40))
def test_never_raises_on_near_misses(text: str) -> None:
    parse_stage_moves(text, S)


def _one_by_one(texts: list[str | None]) -> list[tuple[int, str | None, str | None, str | None,
                                                        str, str | None, str]]:
    out = []
    for row, text in enumerate(texts):
        found, probs = parse_stage_moves(text, S)
        by_text = {m.text: m for m in found}
        for p in probs:
            m = by_text.get(p.text)
            out.append((row, m.customer if m else None, m.from_stage if m else None,
                        m.to_stage if m else None, p.text, p.kind, p.detail))
        for m in found:
            if not any(p.text == m.text for p in probs):
                out.append((row, m.customer, m.from_stage, m.to_stage, m.text, None, ""))
    return sorted(out, key=str)


def _whole_column(texts: list[str | None], parse: Any = moves_frame
                  ) -> list[tuple[int, str | None, str | None, str | None, str, str | None,
                                  str]]:
    frame = parse(pd.Series(texts, dtype="str").dropna(), S)
    return sorted(((int(r.row), r.customer, r.from_stage, r.to_stage, r.text, r.problem,
                    r.detail) for r in frame.itertuples()), key=str)


NEAR = st.text(alphabet=":：;；→->=至 \n客户AB需求分析方案提交报价与谈判签约成交输单\u3000",
               max_size=40)


@given(st.lists(st.one_of(st.none(), NEAR, rendered_moves().map(lambda x: x[0])), max_size=8))
def test_the_whole_column_parser_agrees_with_the_text_parser(texts: list[str | None]) -> None:
    assert _whole_column(texts) == _one_by_one(texts)
    # the fallback where pyarrow is missing (Pyodide) gives the same
    assert _whole_column(texts, _moves_one_by_one) == _one_by_one(texts)


def test_the_whole_column_parser_finds_an_unknown_stage_among_known_ones() -> None:
    texts = ["客户A:需求分析->方案提交", "客户F:需求分析→方案评审", "客户B:方案提交=>报价与谈判"]
    assert _whole_column(texts) == _one_by_one(texts)
    assert [p for *_, p, _ in _whole_column(texts) if p] == ["unknown_stage"]

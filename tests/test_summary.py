"""The digest for the group chat (``xlsales summary``), posting it to a group robot, and the
review's PDF export.

The digest's figures are the other commands' figures (their ``--json``), on the sample team
(its "today" is 2024-03-29; 2024-03-21 has a missing and a late daily). Posting is tested
against a robot on 127.0.0.1 that records each request and answers as told: the formats are
the robots' documented ones (DingTalk custom robot: ``msgtype``/``markdown.title``/
``markdown.text``, ``timestamp`` in ms and ``sign`` = base64(HMAC-SHA256(secret,
"timestamp\\nsecret")) in the query; WeCom group robot: ``msgtype``/``markdown.content``;
both answer ``{"errcode": 0, "errmsg": "ok"}``, DingTalk 310000 when the security settings
refuse a message).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from xlsales.cli import app
from xlsales.sample import SAMPLE_TODAY

runner = CliRunner()
DAY_WITH_GAPS = dt.date(2024, 3, 21)  # 张伟 missing, 王强 late (the sample's compliance)
PERIODS = {"day": DAY_WITH_GAPS, "week": SAMPLE_TODAY, "month": SAMPLE_TODAY}
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def cli(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def summary(team: Path, kind: str, on: dt.date, *more: str) -> dict[str, Any]:
    return cli("summary", f"--{kind}", "-w", str(team), "--on", on.isoformat(), *more)


def period(kind: str, on: dt.date) -> str:
    """The period a command takes for the digest's completion (a day: the month to date)."""
    if kind == "week":
        year, week, _ = on.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{on:%Y-%m}"


# -- the figures are the commands' figures ------------------------------------------------

@pytest.mark.parametrize("kind", ["day", "week", "month"])
def test_the_digest_has_the_figures_of_the_commands(sample_team: Callable[[str], Path],
                                                    kind: str) -> None:
    team, on = sample_team("zh"), PERIODS[kind]
    got = summary(team, kind, on)
    message = got["message"].replace("**", "")
    at = ("-w", str(team), "--on", on.isoformat())

    team_rate = cli("completion", "--period", period(kind, on), "--by", "team", *at)
    row = team_rate["rows"][0]
    assert row["quota_basis"] == "team"  # the team's own quota (performance.team_quota)
    comp = got["completion"]
    assert (comp["rate"], comp["actual"], comp["target"]) == (row["rate"], row["actual"],
                                                              row["target"])
    assert f"{row['rate']:.1%}" in message and f"{row['actual']:,.1f}" in message
    assert f"{row['target']:,.1f}" in message

    reps = cli("completion", "--period", period(kind, on), *at)
    assert [t["rep"] for t in comp["top"]] == reps["top3"]
    assert [b["rep"] for b in comp["below"]] == reps["below"]
    assert reps["top_label"] in message and all(name in message for name in reps["below"])

    # the dailies: the compliance of the day's week (a day's digest) or of the period
    disc = cli("compliance", "--period", period("week" if kind == "day" else kind, on),
               *at)["reps"]
    if kind == "day":
        missing = [r["rep"] for r in disc if on.isoformat() in r["missing_days"]]
        late = [r["rep"] for r in disc if on.isoformat() in r["late_days"]]
        assert (missing, late) == (["张伟"], ["王强"])
        assert f"未交({len(missing)} 人):张伟" in message
        assert f"逾期({len(late)} 人):王强" in message
    else:
        missing = sum(r["missing"] for r in disc)
        late = sum(r["late"] for r in disc)
        assert (got["reports"]["missing"], got["reports"]["late"]) == (missing, late)
        assert f"逾期 {late} 份" in message
        assert (f"缺报 {missing} 份" in message) == (missing > 0)
        assert got["reports"]["expected"] == sum(r["expected"] for r in disc)

    followups = cli("followups", *at)
    overdue = followups["counts"]["overdue"]
    assert got["followups"]["overdue"] == overdue > 0
    assert got["followups"]["per_rep"] == {
        rep: c["overdue"] for rep, c in followups["per_rep"].items() if c["overdue"]}
    assert f"逾期跟进:{overdue} 条" in message

    alerts = cli("alerts", *at)["alerts"]
    stalled = {a["opp_id"] for a in alerts}
    assert got["stalled"]["count"] == len(stalled) > 0
    assert f"停滞商机:{len(stalled)} 个" in message
    biggest = max(alerts, key=lambda a: a["amount"])
    assert got["stalled"]["top"][0]["opp_id"] == biggest["opp_id"]
    assert f"{biggest['opp_id']} {biggest['customer']}" in message


def test_a_day_when_everyone_reported(sample_team: Callable[[str], Path]) -> None:
    got = summary(sample_team("zh"), "day", SAMPLE_TODAY)
    assert got["reports"]["missing"] == got["reports"]["late"] == 0
    assert "应交 12 份,全部按时提交" in got["message"]
    assert got["completion"]["first"] == "2024-03-01"  # the month to date
    assert got["title"] == "华东华南华北销售部 · 日报摘要 2024-03-29(周五)"


def test_a_day_off_owes_no_daily(sample_team: Callable[[str], Path]) -> None:
    got = summary(sample_team("en"), "day", dt.date(2024, 3, 30))  # a Saturday
    assert got["reports"]["expected"] == 0
    assert "Daily reports**: none due (not a working day)" in got["message"]


# -- languages ----------------------------------------------------------------------------

def names_of(team: Path) -> set[str]:
    """What the data names and the digest may show as it is: reps, customers, the team."""
    from xlsales.jobs.sources import load_customers
    from xlsales.workspace import read_settings

    settings = read_settings(team)
    customers = load_customers(team, ("customers", "opportunities"))
    names = {r.rep for r in settings.roster} | {settings.general.team_name}
    for key in ("customers", "opportunities"):
        for r in customers.records(key):
            names |= {str(v) for k, v in r.items() if k in ("name", "customer", "owner") and v}
    return names


def without(text: str, names: set[str]) -> str:
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    return text


@pytest.mark.parametrize("fmt", ["markdown", "text"])
@pytest.mark.parametrize("kind", ["day", "week", "month"])
def test_a_chinese_digest_has_no_english_words(sample_team: Callable[[str], Path], kind: str,
                                               fmt: str) -> None:
    team = sample_team("zh")
    got = summary(team, kind, PERIODS[kind], "--format", fmt)
    text = without(got["message"], names_of(team))
    text = re.sub(r"\bO\d{4}\b", " ", text)  # the opportunities' ids
    text = re.sub(r"\d{4}-W\d{2}", " ", text)  # an ISO week
    assert set(re.findall(r"[A-Za-z]+", text)) <= {"TOP"}, got["message"]
    assert CJK.search(text)


@pytest.mark.parametrize("fmt", ["markdown", "text"])
@pytest.mark.parametrize("kind", ["day", "week", "month"])
def test_an_english_digest_has_no_chinese(sample_team: Callable[[str], Path], kind: str,
                                          fmt: str) -> None:
    team = sample_team("en")
    got = summary(team, kind, PERIODS[kind], "--format", fmt)
    assert got["lang"] == "en"
    text = without(got["message"], names_of(team))
    assert not CJK.findall(text), got["message"]
    assert "Team completion" in text and "Stalled deals" in text


# -- formats ------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["zh", "en"])
def test_markdown_and_text_carry_the_same_lines(sample_team: Callable[[str], Path],
                                                lang: str) -> None:
    team = sample_team(lang)
    md = summary(team, "month", SAMPLE_TODAY)["message"]
    text = summary(team, "month", SAMPLE_TODAY, "--format", "text")["message"]
    assert md.startswith("### ") and "\n- **" in md and "\n  - " in md
    assert text.startswith("【" if lang == "zh" else "华东") and not any(
        m in text for m in ("**", "###", "\n- "))
    for message in (md, text):
        assert len(message.splitlines()) <= 25
        assert "," in message  # thousands separators and lists …
    plain = [re.sub(r"^(#+ |- |  - )", "", ln).replace("**", "") for ln in md.splitlines()
             if ln.strip()]
    plain[0] = f"【{plain[0]}】" if lang == "zh" else plain[0]
    assert plain == [re.sub(r"^  · ", "", ln) for ln in text.splitlines()]
    unit = "万元" if lang == "zh" else "10k CNY"
    assert unit in md and "%" in md


def test_the_command_prints_the_digest(sample_team: Callable[[str], Path]) -> None:
    team = sample_team("zh")
    result = runner.invoke(app, ["summary", "--week", "-w", str(team), "--on", "2024-03-29",
                                 "--format", "text"])
    assert result.exit_code == 0, result.output
    assert result.stdout == summary(team, "week", SAMPLE_TODAY, "--format", "text")["message"]
    for bad in (["--week", "--month"], ["--format", "html"]):
        result = runner.invoke(app, ["summary", "-w", str(team), *bad, "--json"])
        assert result.exit_code == 2
        assert json.loads(result.stdout)["ok"] is False


# -- the group robot --------------------------------------------------------------------

@dataclass
class Robot:
    """A group robot on 127.0.0.1: records every request, answers with ``status``/``body``."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    body: Any = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})


@pytest.fixture
def robot(monkeypatch: pytest.MonkeyPatch) -> Iterator[Robot]:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length)
            parts = urlsplit(self.path)
            state.requests.append({"method": self.command, "path": parts.path,
                                   "query": parse_qs(parts.query),
                                   "content_type": self.headers.get("Content-Type"),
                                   "body": json.loads(raw.decode("utf-8")),
                                   "at": time.time()})
            body = state.body
            data = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json" if not isinstance(body, str)
                             else "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Robot(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def set_options(team: Path, **values: str) -> None:
    """Type option values into the workspace's settings.xlsx (its options table)."""
    from xlsales.io.edit.book import WorkbookEdit
    from xlsales.io.edit.cells import Cell
    from xlsales.io.read import WorkbookReader
    from xlsales.settings import Settings
    from xlsales.tables import get

    path = team / "settings.xlsx"
    with WorkbookReader(path) as reader:
        table = reader.table(get("options"), Settings.default())
    rows = {r["key"]: r["_row"] for r in table.records(with_row=True)}
    with WorkbookEdit(path) as wb:
        for key, value in values.items():
            wb.set_cell(table.sheet, table.cell("value", rows[key]), Cell(value))
        wb.save()


def post(team: Path, *more: str) -> Any:
    return runner.invoke(app, ["summary", "--day", "-w", str(team), "--on", "2024-03-21",
                               "--post", *more])


def test_posting_to_a_signed_dingtalk_robot(sample_copy: Callable[[str], Path],
                                            robot: Robot) -> None:
    team = sample_copy("zh")
    secret = "SEC0123456789abcdef"
    set_options(team, webhook_url=f"{robot.url}/robot/send?access_token=tok123",
                webhook_kind="钉钉", webhook_secret=secret)
    before = time.time()
    result = post(team, "--json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["posted"] == {"kind": "dingtalk", "host": robot.url.removeprefix("http://"),
                             "status": 200, "answer": {"errcode": 0, "errmsg": "ok"}}
    [req] = robot.requests
    assert req["method"] == "POST" and req["path"] == "/robot/send"
    assert req["content_type"].startswith("application/json")
    query = {k: v[0] for k, v in req["query"].items()}
    assert set(query) == {"access_token", "timestamp", "sign"}
    assert query["access_token"] == "tok123"
    stamp = int(query["timestamp"])  # milliseconds, now
    assert before * 1000 - 1000 <= stamp <= req["at"] * 1000 + 1000
    expected = base64.b64encode(hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert query["sign"] == expected  # parse_qs undid the URL encoding
    assert req["body"] == {"msgtype": "markdown",
                           "markdown": {"title": got["title"], "text": got["message"]}}
    assert "未交(1 人):张伟" in req["body"]["markdown"]["text"]


def test_posting_to_a_dingtalk_robot_without_a_secret(sample_copy: Callable[[str], Path],
                                                      robot: Robot) -> None:
    team = sample_copy("en")
    set_options(team, webhook_url=f"{robot.url}/robot/send?access_token=t",
                webhook_kind="dingtalk")
    result = post(team)
    assert result.exit_code == 0, result.output
    assert "Sent to the DingTalk group robot" in result.stderr
    [req] = robot.requests
    assert {k: v[0] for k, v in req["query"].items()} == {"access_token": "t"}


def test_posting_to_a_wecom_robot(sample_copy: Callable[[str], Path], robot: Robot) -> None:
    team = sample_copy("zh")
    set_options(team, webhook_url=f"{robot.url}/cgi-bin/webhook/send?key=k-1",
                webhook_kind="企业微信", webhook_secret="ignored")
    result = post(team, "--json", "--format", "text")
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    [req] = robot.requests
    assert req["path"] == "/cgi-bin/webhook/send"
    assert {k: v[0] for k, v in req["query"].items()} == {"key": "k-1"}  # no signature
    markdown = summary(team, "day", DAY_WITH_GAPS)["message"]  # robots get markdown
    assert req["body"] == {"msgtype": "markdown", "markdown": {"content": markdown}}
    assert len(markdown.encode("utf-8")) <= 4096
    assert got["posted"]["kind"] == "wecom"


def test_posting_to_a_teams_workflow(sample_copy: Callable[[str], Path], robot: Robot) -> None:
    team = sample_copy("en")
    set_options(team, webhook_url=f"{robot.url}/workflows/abc/triggers/manual",
                webhook_kind="teams")
    robot.status, robot.body = 202, ""
    result = post(team, "--json")
    assert result.exit_code == 0, result.output
    [req] = robot.requests
    assert req["body"]["type"] == "message"
    [attachment] = req["body"]["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    texts = [b["text"] for b in card["body"]]
    assert texts[0] == json.loads(result.stdout)["title"]
    assert any(t.startswith("- **Daily reports**") for t in texts)


@pytest.mark.parametrize(("status", "body", "words"), [
    (500, "internal robot failure", ["HTTP 500", "internal robot failure"]),
    (200, {"errcode": 310000, "errmsg": "sign not match"},
     ["310000", "sign not match", "webhook_secret"]),
    (200, {"errcode": 93000, "errmsg": "invalid webhook url"}, ["93000", "invalid webhook url"]),
])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_refused_post_exits_2_with_the_robots_words(sample_copy: Callable[[str], Path],
                                                      robot: Robot, status: int, body: Any,
                                                      words: list[str], lang: str) -> None:
    team = sample_copy(lang)
    set_options(team, webhook_url=f"{robot.url}/robot/send?access_token=t",
                webhook_kind="dingtalk", webhook_secret="SECx")
    robot.status, robot.body = status, body
    result = post(team, "--json")
    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)
    assert error["ok"] is False
    assert all(w in error["error"] for w in words), error
    assert ("钉钉群机器人" in error["error"]) == (lang == "zh")
    assert "access_token" not in error["error"]  # the robot's token stays out of messages
    text = post(team)  # without --json: the digest is shown, the error on stderr
    assert text.exit_code == 2
    assert "张伟" in text.stdout and words[0] in " ".join(text.stderr.split())


def test_an_unreachable_robot_exits_2(sample_copy: Callable[[str], Path],
                                      robot: Robot) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    team = sample_copy("en")
    set_options(team, webhook_url=f"http://127.0.0.1:{port}/robot/send",
                webhook_kind="dingtalk")
    result = post(team, "--json")
    assert result.exit_code == 2
    assert "cannot reach the DingTalk group robot (127.0.0.1:" in json.loads(
        result.stdout)["error"]


def test_posting_needs_a_robot(sample_team: Callable[[str], Path]) -> None:
    result = post(sample_team("zh"), "--json")
    assert result.exit_code == 2
    assert "webhook_url" in json.loads(result.stdout)["error"]


def test_the_robot_settings(sample_team: Callable[[str], Path]) -> None:
    from xlsales.errors import InputError
    from xlsales.io.webhook import robot_kind
    from xlsales.workspace import settings_from_records

    def read(**values: str) -> Any:
        return settings_from_records({"options": [
            {"key": k, "value": v, "_row": 5 + i} for i, (k, v) in enumerate(values.items())]})

    s = read(webhook_url=" https://oapi.dingtalk.com/robot/send?access_token=x ",
             webhook_kind="钉钉", webhook_secret=" SECabc ")
    assert (s.general.webhook_url, s.general.webhook_kind, s.general.webhook_secret) == (
        "https://oapi.dingtalk.com/robot/send?access_token=x", "dingtalk", "SECabc")
    assert not s.problems
    bad = read(webhook_url="file:///etc/passwd", webhook_kind="slack")
    assert (bad.general.webhook_url, bad.general.webhook_kind) == ("", "auto")
    assert [p.rule for p in bad.problems] == ["settings.option"] * 2
    assert robot_kind("https://oapi.dingtalk.com/robot/send?access_token=x") == "dingtalk"
    assert robot_kind("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k") == "wecom"
    assert robot_kind("https://prod-01.westeurope.logic.azure.com/workflows/x") == "teams"
    assert robot_kind("http://127.0.0.1:1/x", "wecom") == "wecom"
    with pytest.raises(InputError, match="webhook_kind"):
        robot_kind("https://chat.example.com/hook")
    # the workspace's settings sheet lists the three options, blank
    from xlsales.workspace import read_settings

    general = read_settings(sample_team("zh")).general
    assert (general.webhook_url, general.webhook_kind, general.webhook_secret) == (
        "", "auto", "")


# -- the review as a PDF ------------------------------------------------------------------

@pytest.mark.libreoffice
def test_the_review_exported_to_pdf(sample_copy: Callable[[str], Path], soffice: str) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    team = sample_copy("zh")
    got = cli("review", "-w", str(team), "--month", "2024-03", "--on", "2024-03-29", "--pdf")
    pdf = Path(got["pdf"])
    assert pdf == team / "review_2024-03.pdf" and pdf.read_bytes().startswith(b"%PDF")
    assert Path(got["written"]).exists()
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True, timeout=60).stdout
    completion = next(m for m in got["metrics"] if m["key"] == "completion")
    shown = f"{completion['actual']:.1%}"  # the review's 0.0% format
    assert shown in text
    assert "月度业绩复盘分析表 2024-03" in text
    digest = summary(team, "month", SAMPLE_TODAY)
    assert f"{digest['completion']['rate']:.1%}" == shown  # the digest says the same


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_review_pdf_without_libreoffice(sample_copy: Callable[[str], Path],
                                            monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    from xlsales.io import libreoffice

    monkeypatch.setattr(libreoffice, "find_soffice", lambda: None)
    team = sample_copy(lang)
    result = runner.invoke(app, ["review", "-w", str(team), "--month", "2024-03", "--pdf",
                                 "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert "apt install libreoffice-calc-nogui" in error
    assert "https://www.libreoffice.org/download/" in error
    assert ("安装" in error) == (lang == "zh")
    assert not (team / "review_2024-03.xlsx").exists()  # looked for before writing

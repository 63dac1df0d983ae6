"""Post a message to a group-chat robot: DingTalk (钉钉), WeCom (企业微信) or Teams.

The formats, as the robots' documentation gives them:

* DingTalk custom robot: POST ``{"msgtype": "markdown", "markdown": {"title": …,
  "text": …}}``; with the "sign" (加签) security setting the address gets ``timestamp``
  (milliseconds) and ``sign`` = base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))
  as URL-encoded query parameters. The answer is ``{"errcode": 0, "errmsg": "ok"}``;
  310000 means the security settings (signature, keywords, IP range) refused the message.
* WeCom group robot: POST ``{"msgtype": "markdown", "markdown": {"content": …}}``
  (content at most 4096 bytes of UTF-8); the answer is ``{"errcode": 0, "errmsg": "ok"}``.
* Teams (a Workflows "when a Teams webhook request is received" address, or an incoming
  webhook): POST ``{"type": "message", "attachments": [{"contentType":
  "application/vnd.microsoft.card.adaptive", "content": <AdaptiveCard>}]}``; any 2xx is
  success (Workflows answer 202 with no body, incoming webhooks 200 with ``1``).

Only :mod:`urllib.request`, with a timeout; the address must be http(s). Errors are
:class:`~xlsales.errors.XlsalesError` (exit 2) naming the robot's host, never the whole
address (it holds the robot's token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Literal

from xlsales.errors import InputError, XlsalesError
from xlsales.i18n import Label

RobotKind = Literal["dingtalk", "wecom", "teams"]
KINDS: tuple[RobotKind, ...] = ("dingtalk", "wecom", "teams")
KIND_NAMES = {"dingtalk": Label("钉钉", "DingTalk"), "wecom": Label("企业微信", "WeCom"),
              "teams": Label("Teams", "Teams")}
DEFAULT_TIMEOUT = 10.0
WECOM_MAX_BYTES = 4096  # markdown.content of a WeCom robot message
DINGTALK_SECURITY = 310000  # the message failed the robot's security settings
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"

# Hosts that tell a robot's kind when the settings say "auto".
_HOSTS: tuple[tuple[str, RobotKind], ...] = (
    ("dingtalk.com", "dingtalk"), ("qyapi.weixin.qq.com", "wecom"),
    ("office.com", "teams"), ("office365.com", "teams"), ("logic.azure.com", "teams"),
    ("powerplatform.com", "teams"), ("powerautomate.com", "teams"))

NO_URL = Label("没有设置群机器人地址:在 settings.xlsx 的常规设置里填写“群机器人地址”"
               "(webhook_url)",
               "no group robot is set: fill in “Group robot webhook” (webhook_url) in the "
               "Options sheet of settings.xlsx")
UNKNOWN_KIND = Label("看不出 {host} 是哪种群机器人:在 settings.xlsx 的常规设置里把“群机器人类型”"
                     "(webhook_kind)设为 dingtalk、wecom 或 teams",
                     "cannot tell which kind of group robot {host} is: set “Group robot "
                     "kind” (webhook_kind) in settings.xlsx to dingtalk, wecom or teams")
FAILED = Label("{kind}群机器人({host})没有收下消息:{detail}",
               "the {kind} group robot ({host}) did not take the message: {detail}")
UNREACHABLE = Label("连不上{kind}群机器人({host}):{detail}",
                    "cannot reach the {kind} group robot ({host}): {detail}")
SECURITY_HINT = Label(";请检查机器人的安全设置(加签密钥 webhook_secret、自定义关键词、IP 地址段)",
                      "; check the robot's security settings (the signing secret "
                      "webhook_secret, custom keywords, IP range)")
TOO_LONG = Label("消息有 {size} 字节,超过企业微信的上限 {limit} 字节",
                 "the message has {size} bytes, more than WeCom's limit of {limit}")


@dataclass(frozen=True)
class Posted:
    """What a robot answered."""

    kind: RobotKind
    host: str
    status: int
    answer: Any  # the decoded JSON answer, or the text

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "host": self.host, "status": self.status,
                "answer": self.answer}


def host_of(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def robot_kind(url: str, kind: str = "auto") -> RobotKind:
    """The robot's kind: the setting, or told by the address's host when it is "auto"."""
    if kind in KINDS:
        return kind  # type: ignore[return-value]
    host = urllib.parse.urlsplit(url).hostname or ""
    for suffix, found in _HOSTS:
        if host == suffix or host.endswith("." + suffix):
            return found
    raise InputError(UNKNOWN_KIND.format(host=host or url))


def dingtalk_sign(secret: str, timestamp: int) -> str:
    """DingTalk's signature of ``timestamp`` (ms): base64(HMAC-SHA256(secret,
    f"{timestamp}\\n{secret}")), not yet URL-encoded."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(),
                      hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_url(url: str, secret: str, timestamp: int | None = None) -> str:
    """``url`` with DingTalk's ``timestamp`` and ``sign`` query parameters appended."""
    timestamp = int(time.time() * 1000) if timestamp is None else timestamp
    query = urllib.parse.urlencode({"timestamp": str(timestamp),
                                    "sign": dingtalk_sign(secret, timestamp)})
    return f"{url}{'&' if urllib.parse.urlsplit(url).query else '?'}{query}"


def payload(kind: RobotKind, title: str, markdown: str) -> dict[str, Any]:
    """The JSON body of a markdown message with ``title`` for a robot of ``kind``."""
    if kind == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": title, "text": markdown}}
    if kind == "wecom":
        size = len(markdown.encode("utf-8"))
        if size > WECOM_MAX_BYTES:
            raise InputError(TOO_LONG.format(size=size, limit=WECOM_MAX_BYTES))
        return {"msgtype": "markdown", "markdown": {"content": markdown}}
    lines = [ln for ln in markdown.splitlines() if ln.strip()]
    if lines and lines[0].lstrip("#").strip() == title:
        lines = lines[1:]
    body = [{"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium",
             "wrap": True}]
    body += [{"type": "TextBlock", "text": ln, "wrap": True, "spacing": "None"}
             for ln in lines]
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard", "version": "1.4", "body": body}
    return {"type": "message",
            "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None,
                             "content": card}]}


def post(url: str, title: str, markdown: str, *, kind: str = "auto", secret: str = "",
         timeout: float = DEFAULT_TIMEOUT) -> Posted:
    """Send a markdown message to the robot at ``url``; raise an :class:`XlsalesError` with
    the robot's own words when it refuses it (HTTP error, ``errcode`` other than 0)."""
    url = url.strip()
    if not url:
        raise InputError(NO_URL)
    if urllib.parse.urlsplit(url).scheme.lower() not in ("http", "https"):
        raise InputError(Label(f"群机器人地址必须以 http:// 或 https:// 开头:{host_of(url)}",
                               "the group robot's address must start with http:// or "
                               f"https://: {host_of(url)}"))
    robot = robot_kind(url, kind)
    host = host_of(url)
    name = KIND_NAMES[robot]
    body = json.dumps(payload(robot, title, markdown), ensure_ascii=False).encode("utf-8")
    target = signed_url(url, secret) if robot == "dingtalk" and secret else url
    request = urllib.request.Request(target, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        said = _decode(exc.read())
        detail = _join(f"HTTP {exc.code} {exc.reason}".strip(), _words(said))
        raise XlsalesError(_failed(name, host, detail, said)) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise XlsalesError(Label(UNREACHABLE.zh.format(kind=name.zh, host=host, detail=reason),
                                 UNREACHABLE.en.format(kind=name.en, host=host,
                                                       detail=reason))) from None
    decoded = _decode(raw)
    if isinstance(decoded, dict) and decoded.get("errcode") not in (None, 0, "0"):
        raise XlsalesError(_failed(name, host, _words(decoded), decoded))
    return Posted(robot, host, status, decoded)


def _failed(name: Label, host: str, detail: str, answer: Any) -> Label:
    """The "did not take the message" error, with the security hint for DingTalk's 310000."""
    code = answer.get("errcode") if isinstance(answer, dict) else None
    hint = SECURITY_HINT if str(code) == str(DINGTALK_SECURITY) else Label("", "")
    return Label(FAILED.zh.format(kind=name.zh, host=host, detail=detail) + hint.zh,
                 FAILED.en.format(kind=name.en, host=host, detail=detail) + hint.en)


def _decode(raw: bytes) -> Any:
    """An answer as JSON when it is JSON, else its text."""
    text = raw.decode("utf-8", errors="replace").strip()
    try:
        return json.loads(text)
    except ValueError:
        return text


def _words(answer: Any) -> str:
    """What a robot said: ``errcode 310000: sign not match``, or its text (shortened)."""
    if isinstance(answer, dict) and "errcode" in answer:
        return f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}".strip()
    if isinstance(answer, dict):
        answer = json.dumps(answer, ensure_ascii=False)
    text = str(answer or "").strip()
    return text if len(text) <= 300 else text[:300] + "…"


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)

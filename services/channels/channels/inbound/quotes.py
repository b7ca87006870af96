"""The text a customer wrote, without the history their client quoted below it or their
signature: plain Python, no nameko, no database. The whole original is kept elsewhere
(the raw mail); this is what the ticket's message says.

Cut at the first line that starts quoted history:
- Outlook: ``-----Original Message-----``, an underscore rule, or a ``From:`` (``发件人:``)
  line followed within a few lines by ``Sent:``/``Date:`` (``发送时间:``/``日期:``) and
  ``To:``/``Subject:`` (``收件人:``/``主题:``);
- Gmail, Apple Mail, Thunderbird: ``On <date>, <name> wrote:`` (wrapped over two lines too),
  ``<name> 于 <date> 写道：``;
- Foxmail, QQ Mail: ``------------------ 原始邮件 ------------------`` (or ``Original``);
- NetEase (163/126), Sina, Aliyun: ``在 <date>，<name> 写道：``, ``----- 原始邮件 -----``,
  ``--- 原始邮件 ---``, ``------------------ 回复的原邮件 ------------------``;
- a block of ``>`` lines (and what an HTML blockquote became).
A forward (``---------- Forwarded message ---------``) is kept whole: what it forwards is what
the sender wants read.
Then a signature: the ``-- `` delimiter (RFC 3676) and "sent from my phone" lines at the end.
When nothing is left (a mail that is only a quote), the whole text is kept.
"""
import re

DASHED = re.compile(r"^\s*-{2,}\s*(original message|原始邮件|original|回复的原邮件)"
                    r"\s*-{2,}\s*$", re.IGNORECASE)
FORWARD = re.compile(r"^\s*(-{2,}\s*(forwarded message|转发的邮件|转发邮件信息)\s*-{2,}|begin forwarded message:)\s*$",
                     re.IGNORECASE)
UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
FROM_LINE = re.compile(r"^\s*\*?(from|发件人|寄件者)\s*\*?\s*[:：]", re.IGNORECASE)
HEADER_LINES = (re.compile(r"^\s*\*?(sent|date|发送时间|日期|寄件日期|时间)\s*\*?\s*[:：]", re.IGNORECASE),
                re.compile(r"^\s*\*?(to|subject|收件人|主题|cc|抄送)\s*\*?\s*[:：]", re.IGNORECASE))
WROTE = (re.compile(r"^\s*on\b.{1,250}\bwrote\s*:\s*$", re.IGNORECASE),
         re.compile(r"^.{0,200}于\s*.{1,120}写道\s*[：:]\s*$"),
         re.compile(r"^\s*在\s*.{1,250}写道\s*[：:]\s*$"),
         re.compile(r"^.{1,250}\s(schrieb|a écrit)\s*:\s*$", re.IGNORECASE))
QUOTED = re.compile(r"^\s*>")
SIGNATURE_DELIMITER = re.compile(r"^-- ?$")
SENT_FROM = re.compile(
    r"^\s*(sent from my \w+.*|sent from (mail|outlook|yahoo mail).*|get outlook for \w+.*|"
    r"发自我的\s*\w+.*|从我的\s*\w+\s*发送|发自网易邮箱.*|发自\s*网易邮箱大师|来自.*手机.*|发自我的手机|"
    r"sent with .{1,40}|发自\s*qq\s*邮箱.*)\s*$", re.IGNORECASE)
HEADER_WINDOW = 6


def quote_start(lines) -> int | None:
    """The index of the first line of quoted history, or None."""
    for index, line in enumerate(lines):
        if FORWARD.match(line):
            return None  # what follows is forwarded, not quoted: kept
        if DASHED.match(line):
            return index
        if UNDERSCORES.match(line) and _headers_follow(lines, index + 1):
            return index
        if FROM_LINE.match(line) and _headers_follow(lines, index + 1):
            return index
        if any(pattern.match(line) for pattern in WROTE):
            return index
        if index + 1 < len(lines) and re.match(r"^\s*on\b", line, re.IGNORECASE) and \
                any(pattern.match(f"{line.rstrip()} {lines[index + 1].strip()}") for pattern in WROTE):
            return index  # "On <date> <name> <" wrapped before "addr> wrote:"
        if QUOTED.match(line) and all(QUOTED.match(rest) or not rest.strip() for rest in lines[index:]):
            return index  # the rest is all quoted
    return None


def _headers_follow(lines, start) -> bool:
    """Within the next few lines: a date line and a recipient or subject line (Outlook's block)."""
    window = lines[start:start + HEADER_WINDOW]
    return all(any(pattern.match(line) for line in window) for pattern in HEADER_LINES) or \
        (len(window) > 0 and FROM_LINE.match(window[0]) is not None and _headers_follow(lines, start + 1))


def without_signature(lines):
    for index, line in enumerate(lines):
        if SIGNATURE_DELIMITER.match(line):
            lines = lines[:index]
            break
    while lines and (not lines[-1].strip() or SENT_FROM.match(lines[-1])):
        lines = lines[:-1]
    return lines


def reply_text(text: str) -> str:
    """What the sender wrote: quoted history and signature cut; inline ``>`` lines dropped."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = quote_start(lines)
    kept = lines[:start] if start is not None else lines
    kept = [line for line in kept if not QUOTED.match(line)]
    kept = without_signature(kept)
    while kept and not kept[0].strip():
        kept = kept[1:]
    stripped = "\n".join(line.rstrip() for line in kept).strip()
    return stripped or (text or "").strip()

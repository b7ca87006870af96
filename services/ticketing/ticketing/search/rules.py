"""Full-text search (T8, T1): one tokenizer for tickets and the knowledge
base, documents for the index, and the query language of the ticket list.

Plain Python, no database: ``handlers.py`` stores what this module makes in
PostgreSQL (a ``tsvector`` with the ``simple`` configuration's types but
built here, under a GIN index) or SQLite (an FTS5 table whose unicode61
tokenizer only splits the space-joined terms made here).

Tokenising (``terms``)
----------------------
* The text is NFC-composed and each character NFKC-normalised and lowercased,
  so full-width letters and digits ("ＶＩＰ", "１５") equal half-width ones;
  common traditional Chinese characters fold to simplified (``TRADITIONAL``:
  退貨 and 退货 are the same terms).
* Runs of CJK characters (Han, kana, Hangul) give overlapping character
  bigrams ("退货流程" -> 退货, 货流, 流程); a run of one character gives that
  character. Chinese has no spaces, so bigrams let a query match without a
  word segmenter, and a two-character word is one term. Before bigramming, a
  few question words and sentence-final particles (``CJK_STOP_WORDS``: 怎么,
  如何, 什么, 吗, 呢 ...) cut the run, as the English stop words are dropped.
* Runs of other letters and digits are words. An apostrophe between two
  letters is dropped ("customer's" -> "customers"). Stop words
  (``STOP_WORDS``) are dropped, words with digits are kept as they are
  (order numbers "10023", model numbers "X200" -> "x200"), alphabetic words
  go through ``stem``. A word is cut to ``MAX_TERM_LENGTH`` characters.
* Everything else (punctuation of either script, spaces, symbols) separates.

Documents (``document``)
------------------------
A field's terms in order, then the last character of each CJK run of two or
more (``tail_characters``): a one-character query (王, 退) is a prefix query
(``退*``) that meets every bigram starting with the character, and the tail
adds the one place a character starts no bigram.

Query language (``parse``)
--------------------------
See ``docs/search.md``. Words and "quoted phrases"; ``field:value``
(``FIELDS``), ``created:>=2026-01-01``, ``created:2026-01-01..2026-02-01``;
``AND`` (or nothing), ``OR``, ``NOT`` or ``-``, parentheses. A word of Chinese
is the AND of its bigrams, a phrase their adjacency. ``parse`` gives a tree
of ``Text``/``Field``/``Not``/``All``/``Any`` nodes, or raises ``QueryError``
naming the character position and the reason.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator

MAX_TERM_LENGTH = 100  # the index column's width: a longer word is cut, in queries the same way

STOP_WORDS = frozenset("""
a an the of to is are was were be been being am and or but if so as at by for from in into on onto
with about it its this that these those i me my we our you your he she they them their his her
do does did how what why when where which who can could will would should shall may might must
has have had please there here not no
""".split())

# Cut CJK runs like spaces; longest first so 为什么 wins over 什么.
CJK_STOP_WORDS = ("为什么", "怎么办", "怎么样", "怎么", "怎样", "如何", "什么", "请问", "一下",
                  "吗", "呢", "吧", "啊", "呀")
_CJK_STOP = re.compile("|".join(map(re.escape, CJK_STOP_WORDS)))

# Common traditional characters and their simplified forms (those that differ), so either
# script finds the other. Not a full conversion table: the characters of customer service.
_TRADITIONAL_PAIRS = (
    "貨货 費费 號号 單单 開开 發发 訂订 戶户 帳账 賬账 錢钱 網网 買买 賣卖 價价 換换 "
    "務务 員员 問问 題题 請请 謝谢 預预 額额 運运 遞递 達达 機机 電电 話话 碼码 聯联 繫系 係系 "
    "寶宝 寬宽 幣币 漲涨 壞坏 維维 修修 線线 據据 庫库 務务 處处 理理 記记 錄录 錯错 誤误 "
    "為为 麼么 這这 個个 們们 來来 時时 間间 後后 還还 沒没 說说 讓让 給给 對对 會会 應应 "
    "該该 樣样 點点 現现 實实 際际 產产 品品 質质 廠厂 區区 國国 東东 車车 馬马 魚鱼 鳥鸟 "
    "業业 團团 隊队 報报 導导 認认 證证 護护 隱隐 私私 權权 險险 條条 規规 則则 辦办 "
    "關关 門门 閉闭 啟启 動动 態态 狀状 況况 結结 經经 歷历 紀纪 約约 級级 總总 長长 "
    "投投 訴诉 評评 價价 議议 論论 講讲 讀读 寫写 書书 號号 碼码 簡简 體体 與与 舉举 "
    "億亿 萬万 準准 確确 優优 惠惠 劵券 禮礼 積积 兌兑 換换 領领 頁页 順顺 須须 顧顾 "
    "客客 氣气 溫温 濕湿 亂乱 雜杂 難难 雙双 邊边 遠远 近近 過过 選选 擇择 響响 "
    "熱热 燈灯 煙烟 災灾 傳传 備备 儲储 側侧 偵侦 價价 傷伤 僅仅 億亿 兩两 內内 "
    "冊册 劃划 勞劳 勢势 卻却 參参 發发 變变 壓压 夠够 奪夺 寧宁 將将 專专 尋寻 "
    "屆届 層层 歲岁 幫帮 廣广 張张 強强 錄录 從从 復复 徵征 憶忆 戰战 擁拥 "
    "擔担 據据 損损 攜携 擴扩 斷断 於于 無无 檢检 驗验 樓楼 標标 樂乐 歡欢 "
    "氣气 決决 沒没 滿满 漢汉 潔洁 濟济 為为 爭争 爺爷 牆墙 獲获 環环 現现 "
    "畫画 當当 療疗 發发 盡尽 監监 盤盘 碼码 禮礼 穩稳 窮穷 競竞 筆笔 範范 "
    "築筑 簽签 糧粮 紅红 納纳 純纯 紙纸 細细 終终 組组 絕绝 統统 絲丝 綁绑 "
    "綠绿 緊紧 練练 縣县 縮缩 績绩 續续 罰罚 聞闻 聲声 職职 腦脑 膽胆 臉脸 "
    "與与 興兴 舊旧 莊庄 華华 蘋苹 號号 蟲虫 補补 裝装 複复 見见 規规 視视 "
    "覺觉 覽览 觀观 訊讯 討讨 訓训 記记 設设 許许 詢询 試试 詳详 誠诚 語语 "
    "說说 調调 談谈 請请 諮咨 謂谓 識识 譯译 讚赞 負负 貢贡 財财 責责 販贩 "
    "貼贴 貸贷 資资 賠赔 賴赖 購购 賽赛 贈赠 趕赶 跡迹 躍跃 軟软 載载 輕轻 "
    "輸输 轉转 辦办 農农 週周 進进 遊游 運运 遲迟 郵邮 鄉乡 醫医 釋释 針针 "
    "鈔钞 鉤钩 銀银 銷销 鋪铺 鍵键 鎖锁 鐘钟 鐵铁 閱阅 闆板 陰阴 陳陈 陸陆 "
    "隨随 險险 雖虽 離离 雲云 電电 靜静 韓韩 頂顶 項项 順顺 預预 頓顿 頻频 "
    "顏颜 風风 飛飞 飯饭 飲饮 餘余 館馆 驅驱 驗验 體体 髮发 鬆松 麥麦 黃黄 齊齐 齒齿 龍龙"
)
TRADITIONAL = {pair[0]: pair[1] for pair in _TRADITIONAL_PAIRS.split() if pair[0] != pair[1]}

_APOSTROPHES = "'\u2019"
_VOWELS = set("aeiouy")
_SPACE = re.compile(r"\s+")


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF
            or 0x20000 <= code <= 0x3FFFF or 0x3040 <= code <= 0x30FF or 0xAC00 <= code <= 0xD7AF
            or code in (0x3005, 0x3007))


def stem(word: str) -> str:
    """A deliberately tiny English suffix stemmer for lowercase alphabetic words.

    Words of three letters or fewer are left alone. Then, in order:
    1. plural: ``-ies`` -> ``-y`` (deliveries -> delivery); otherwise a final
       ``-s`` is removed unless the word ends in ``ss``, ``us`` or ``is``
       (refunds -> refund; address, status, analysis unchanged);
    2. ``-ied`` -> ``-y`` (applied -> apply), or
       ``-ing`` / ``-ed`` is removed when at least three letters containing a
       vowel remain and the word does not end in ``-eed`` (refunded, refunding
       -> refund; need, speed, string unchanged); a doubled final consonant
       other than l, s, z is then undoubled when four letters remain
       (shipped -> ship, billed -> bill, added -> add);
    3. a final ``-e`` (but not ``-ee``) is removed from words of four letters
       or more, so that a base form and its inflections meet:
       charge, charges, charged, charging -> charg; invoice(s) -> invoic.
    Stems need not be words; they only have to agree between query and text.
    """
    if len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ied") and len(word) > 4:
        word = word[:-3] + "y"
    else:
        for suffix in ("ing", "ed"):
            base = word[: -len(suffix)]
            if (word.endswith(suffix) and not word.endswith("eed") and len(base) >= 3
                    and _VOWELS.intersection(base)):
                word = base
                if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "lszaeiou":
                    word = word[:-1]
                break
    if len(word) >= 4 and word.endswith("e") and not word.endswith("ee"):
        word = word[:-1]
    return word


def _runs(text: str) -> Iterator[tuple[str, str, int, int]]:
    """(kind, normalised run, start, end) with start/end indexing ``text``
    (already NFC): kind "cjk" or "word"."""
    kind = None
    chars: list[str] = []
    start = end = 0
    for i, original in enumerate(text):
        if original in _APOSTROPHES and kind == "word" and i + 1 < len(text) \
                and text[i + 1].isalnum() and not _is_cjk(text[i + 1]):
            continue  # customer's -> customers
        for char in unicodedata.normalize("NFKC", original).lower():
            char = TRADITIONAL.get(char, char)
            this = "cjk" if _is_cjk(char) else "word" if char.isalnum() else None
            if this != kind:
                if kind:
                    yield kind, "".join(chars), start, end
                kind, chars, start = this, [], i
            if this:
                chars.append(char)
                end = i + 1
    if kind:
        yield kind, "".join(chars), start, end


def _cjk_pieces(run: str) -> Iterator[tuple[str, int]]:
    """The parts of a CJK run between stop words, with their offsets."""
    position = 0
    for stop in _CJK_STOP.finditer(run):
        if stop.start() > position:
            yield run[position:stop.start()], position
        position = stop.end()
    if position < len(run):
        yield run[position:], position


def _term_spans(text: str) -> Iterator[tuple[str, int, int]]:
    """Each term with where it came from in ``text`` (NFC, spaces collapsed)."""
    for kind, run, start, end in _runs(text):
        if kind == "word":
            if run in STOP_WORDS:
                continue
            yield (stem(run) if run.isalpha() else run)[:MAX_TERM_LENGTH], start, end
            continue
        # NFKC keeps CJK characters one-to-one, except rare compatibility
        # characters (㍻ -> 平成); their terms point at the whole run.
        exact = len(run) == end - start
        for piece, at in _cjk_pieces(run):
            for j in range(max(1, len(piece) - 1)):
                term = piece[j:j + 2]
                yield (term, start + at + j, start + at + j + len(term)) if exact else (term, start, end)


def _prepare(text: str | None) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text or "")).strip()


def terms(text: str) -> list[str]:
    """Index/query terms of ``text`` in order of appearance, with repeats."""
    return [term for term, _, _ in _term_spans(_prepare(text))]



# -- documents ---------------------------------------------------------------------------------
MAX_POSITION = 16383      # PostgreSQL's largest tsvector position
MAX_POSITIONS = 256       # and most positions it keeps for one lexeme


def tail_characters(text: str) -> list[str]:
    """The last character of each CJK piece of two or more characters (see the module docstring)."""
    tails = []
    for kind, run, _, _ in _runs(_prepare(text)):
        if kind == "cjk":
            tails += [piece[-1] for piece, _ in _cjk_pieces(run) if len(piece) > 1]
    return tails


def document(*texts: str | None) -> list[str]:
    """The terms a field made of ``texts`` is indexed under, in order (tails last)."""
    found = [term for text in texts for term in terms(text or "")]
    return found + [tail for text in texts for tail in tail_characters(text or "")]


def tsvector_literal(weighted_fields) -> str:
    """A PostgreSQL ``tsvector`` in its text form from ``(terms, weight)`` pairs, weight one of
    A-D; positions count on across the fields. Built here rather than by ``to_tsvector`` so the
    database's parser and locale cannot split or fold a term differently from a query."""
    positions: dict[str, list[str]] = {}
    position = 0
    for field_terms, weight in weighted_fields:
        for term in field_terms:
            position = min(position + 1, MAX_POSITION)
            kept = positions.setdefault(term, [])
            if len(kept) < MAX_POSITIONS:
                kept.append(f"{position}{weight}")
    return " ".join(f"{quoted(term)}:{','.join(sorted(set(at), key=lambda p: int(p[:-1])))}"
                    for term, at in sorted(positions.items()))


def quoted(term: str) -> str:
    """A lexeme as tsvector/tsquery input; terms are letters and digits, escaping is only a guard."""
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


# -- the query language ------------------------------------------------------------------------
class QueryError(ValueError):
    """A query that cannot be read: ``position`` (1 = the first character) and ``reason``."""

    def __init__(self, position: int, reason: str):
        super().__init__(f"at position {position}: {reason}")
        self.position, self.reason = position, reason


@dataclass(frozen=True)
class Text:
    """A word (the AND of its terms) or a quoted phrase (its terms adjacent)."""
    terms: tuple[str, ...]
    phrase: bool = False

    @property
    def prefix(self):
        """One CJK character: matched as the start of a bigram (or a tail), see ``document``."""
        return len(self.terms) == 1 and len(self.terms[0]) == 1 and _is_cjk(self.terms[0])


@dataclass(frozen=True)
class Field:
    """``name:value``; for dates ``value`` is ``(from, until)``: from inclusive, until exclusive, either None."""
    name: str
    value: object


@dataclass(frozen=True)
class Not:
    child: object


@dataclass(frozen=True)
class All:
    children: tuple


@dataclass(frozen=True)
class Any:
    children: tuple


OPERATORS = ("AND", "OR", "NOT")
DATE_FIELDS = ("created", "updated")
MAX_QUERY_NODES = 40


def parse(query: str, choices: dict[str, tuple[str, ...]], free_fields: tuple[str, ...]):
    """The tree of ``query``; ``choices`` are the fields with a closed set of values (state,
    priority ...), ``free_fields`` those with any value (assignee, team, tag)."""
    tree = _Parser(query, choices, free_fields).parse()
    if tree is None:
        raise QueryError(1, "nothing to search for: give a word, a \"phrase\" or field:value "
                            "(stop words such as 'the' or 吗 are not searched)")
    return tree


_TOKEN = re.compile(r'\s+|\(|\)|"[^"]*"?|-(?=[^\s()])|[^\s()"]+')
_FIELD = re.compile(r"([a-z_]+):(.*)", re.S)
_DATE = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_RANGE = re.compile(rf"({_DATE})?\.\.({_DATE})?")
_COMPARE = re.compile(rf"(>=|<=|>|<|=)?({_DATE})")


class _Parser:
    def __init__(self, query, choices, free_fields):
        self.choices, self.free = choices, free_fields
        self.tokens = []   # (kind, text, position)
        self.nodes = 0
        for match in _TOKEN.finditer(query):
            text, at = match.group(), match.start() + 1
            if text.isspace():
                continue
            if text.startswith('"'):
                if len(text) < 2 or not text.endswith('"'):
                    raise QueryError(at, "a quote is not closed")
                self.tokens.append(("phrase", text[1:-1], at))
            elif text in ("(", ")", "-"):
                self.tokens.append((text, text, at))
            elif text in OPERATORS:
                self.tokens.append((text, text, at))
            else:
                self.tokens.append(("word", text, at))
        self.end = len(query) + 1
        self.index = 0

    def peek(self):
        return self.tokens[self.index] if self.index < len(self.tokens) else (None, None, self.end)

    def take(self):
        token = self.peek()
        self.index += 1
        return token

    def parse(self):
        tree = self.either()
        kind, _, at = self.peek()
        if kind is not None:
            raise QueryError(at, "a ')' without its '('" if kind == ")" else f"unexpected {kind}")
        return tree

    def either(self):
        children = [self.both()]
        while self.peek()[0] == "OR":
            _, _, at = self.take()
            if self.peek()[0] in (None, ")", "OR", "AND"):
                raise QueryError(at, "OR needs something on both sides")
            children.append(self.both())
        return self.join(Any, children)

    def both(self):
        children = [self.negated()]
        while self.peek()[0] not in (None, ")", "OR"):
            if self.peek()[0] == "AND":
                _, _, at = self.take()
                if self.peek()[0] in (None, ")", "OR", "AND"):
                    raise QueryError(at, "AND needs something on both sides")
            children.append(self.negated())
        return self.join(All, children)

    def negated(self):
        kind, _, at = self.peek()
        if kind in ("NOT", "-"):
            self.take()
            if self.peek()[0] in (None, ")", "OR", "AND"):
                raise QueryError(at, f"{'NOT' if kind == 'NOT' else '-'} needs something after it")
            child = self.negated()
            return None if child is None else self.count(Not(child))
        return self.primary()

    def primary(self):
        kind, text, at = self.take()
        if kind == "(":
            if self.peek()[0] == ")":
                raise QueryError(at, "empty parentheses")
            tree = self.either()
            if self.take()[0] != ")":
                raise QueryError(at, "a '(' is not closed")
            return tree
        if kind == "phrase":
            found = tuple(terms(text))
            return self.count(Text(found, phrase=len(found) > 1)) if found else None
        if kind == "word":
            field = _FIELD.fullmatch(text)
            if field and field.group(1).isalpha() or field and "_" in field.group(1):
                return self.count(self.field(field.group(1), field.group(2), at))
            found = tuple(terms(text))
            return self.count(Text(found)) if found else None
        if kind is None:
            raise QueryError(at, "the query ends where a word was expected")
        raise QueryError(at, f"unexpected {text!r} where a word was expected")

    def field(self, name, value, at):
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1]
        elif not value and self.peek()[0] == "phrase":  # assignee:"li lei" splits into word and phrase
            value = self.take()[1]
        value_at = at + len(name) + 1
        if not value:
            raise QueryError(value_at, f"{name}: needs a value")
        if name in DATE_FIELDS:
            return Field(name, date_bounds(value, value_at))
        if name in self.choices:
            if value.lower() not in self.choices[name]:
                raise QueryError(value_at, f"{name} is one of {', '.join(self.choices[name])}, not {value!r}")
            return Field(name, value.lower())
        if name in self.free:
            return Field(name, value.strip().lower() if name == "tag" else value)
        known = ", ".join(sorted((*self.choices, *self.free, *DATE_FIELDS)))
        raise QueryError(at, f"unknown field {name!r} (fields: {known}; quote a word with a colon in it)")

    def count(self, node):
        self.nodes += 1
        if self.nodes > MAX_QUERY_NODES:
            raise QueryError(self.peek()[2], f"more than {MAX_QUERY_NODES} words and fields")
        return node

    @staticmethod
    def join(kind, children):
        children = [child for child in children if child is not None]
        if not children:
            return None
        return children[0] if len(children) == 1 else kind(tuple(children))


def _instant(text: str, at: int, end: bool) -> datetime:
    """A date means its whole day (UTC): as an upper bound, the start of the next day."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
            return datetime.combine(day, time(), timezone.utc)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(at, f"{text!r} is not a date (YYYY-MM-DD or an ISO 8601 time)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def date_bounds(value: str, at: int) -> tuple[datetime | None, datetime | None]:
    """``(from, until)`` of ``2026-01-01``, ``>=2026-01-01`` (> >= < <= =) or ``2026-01-01..2026-02-01``
    (both days included; either end may be left out)."""
    span = _RANGE.fullmatch(value)
    if span and (span.group(1) or span.group(2)):
        low = _instant(span.group(1), at, end=False) if span.group(1) else None
        high = _instant(span.group(2), at, end=True) if span.group(2) else None
        if low and high and low >= high:
            raise QueryError(at, f"the range {value!r} ends before it starts")
        return low, high
    compare = _COMPARE.fullmatch(value)
    if not compare:
        raise QueryError(at, f"{value!r} is not a date, a comparison (>=2026-01-01) or a range (a..b)")
    op, text = compare.group(1) or "=", compare.group(2)
    exact = len(text) > 10  # a time, not a whole day
    start, after = _instant(text, at, end=False), _instant(text, at, end=True)
    if op == "=":
        return (start, start + timedelta(microseconds=1)) if exact else (start, after)
    if op == ">=":
        return start, None
    if op == ">":
        return (start + timedelta(microseconds=1) if exact else after), None
    if op == "<":
        return None, start
    return None, (start + timedelta(microseconds=1) if exact else after)  # <=


def positive_texts(tree) -> list[Text]:
    """The words and phrases a ticket is ranked by: every one not under a NOT."""
    if isinstance(tree, Text):
        return [tree]
    if isinstance(tree, (All, Any)):
        return [text for child in tree.children for text in positive_texts(child)]
    return []


def is_text(tree) -> bool:
    """True for a tree of words and phrases only (no fields)."""
    if isinstance(tree, Text):
        return True
    if isinstance(tree, Not):
        return is_text(tree.child)
    if isinstance(tree, (All, Any)):
        return all(is_text(child) for child in tree.children)
    return False


def tsquery(tree) -> str:
    """A tree of words and phrases as PostgreSQL ``tsquery`` text."""
    if isinstance(tree, Text):
        if tree.prefix:
            return f"{quoted(tree.terms[0])}:*"
        joined = (" <-> " if tree.phrase else " & ").join(map(quoted, tree.terms))
        return f"({joined})" if len(tree.terms) > 1 else joined
    if isinstance(tree, Not):
        return f"!({tsquery(tree.child)})"
    operator = " & " if isinstance(tree, All) else " | "
    return "(" + operator.join(tsquery(child) for child in tree.children) + ")"


def fts5_query(tree) -> str:
    """A tree of words and phrases without NOT as an SQLite FTS5 query (NOT is SQL's, see handlers)."""
    if isinstance(tree, Text):
        if tree.prefix:
            return f'"{tree.terms[0]}"*'
        if tree.phrase:
            return '"' + " ".join(tree.terms) + '"'
        return "(" + " AND ".join(f'"{term}"' for term in tree.terms) + ")"
    if isinstance(tree, Not):
        raise ValueError("FTS5 has no unary NOT")
    operator = " AND " if isinstance(tree, All) else " OR "
    return "(" + operator.join(fts5_query(child) for child in tree.children) + ")"


def loosened(tree):
    """``tree`` with each word or phrase of several terms cut to its first term (not under a NOT):
    it matches at least what ``tree`` matches. PostgreSQL estimates an AND of terms as if they were
    independent, and a Chinese word's bigrams are anything but (蓝牙 <-> 牙耳 <-> 耳机: estimated 11
    rows, 17,777 found at 1M tickets), so it would pick the plan that visits every match; the index
    is searched with the loosened query, whose estimate is right, and the exact one filters."""
    if isinstance(tree, Text):
        return Text(tree.terms[:1]) if len(tree.terms) > 1 and not tree.prefix else tree
    if isinstance(tree, (All, Any)):
        return type(tree)(tuple(loosened(child) for child in tree.children))
    return tree


def has_not(tree) -> bool:
    if isinstance(tree, Not):
        return True
    return isinstance(tree, (All, Any)) and any(has_not(child) for child in tree.children)

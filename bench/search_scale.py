"""Ticket search at scale, at the SQL level: 1,000,000 tickets and 1,600,000 messages.

    python bench/search_scale.py                 # makes, measures and drops a scratch database
    python bench/search_scale.py --tickets 100000 --keep   # smaller; keep the database (name printed)

Makes a scratch PostgreSQL database (``csops_search_scale_<pid>``, on TEST_POSTGRES_URL's server),
migrates it to head, loads tickets in Chinese and English (subjects, descriptions, messages drawn
from word pools with a long tail) with COPY, their search documents made by
``ticketing.search`` exactly as the service makes them, builds the GIN index (timed), and then
times the two statements a ticket list issues (the page and its count) for each query below,
built by the service's own ``search.parse_query``/``condition``/``order``: p50 and p95 over
``--runs`` runs, with the page's EXPLAIN ANALYZE of one run in ``--explain`` mode. Then
``--articles`` knowledge-base articles are written as the service writes them and its whole
ranking (``knowledge.handlers.rank``: candidates, counts, frequencies, BM25) is timed.

The planted words: 退款 and "refund" in ~30% of tickets of their language (common), 鹦鹉 and
"zeppelin" in 60 tickets each, half of those in a message only (rare).
"""
import argparse
import io
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for part in ("plumbing", "services/ticketing", ""):
    sys.path.insert(0, str(ROOT / part))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from plumbing import migrate  # noqa: E402
from ticketing.models import Ticket  # noqa: E402
from ticketing.search import handlers as search  # noqa: E402
from ticketing.search import rules  # noqa: E402

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")

PRODUCTS_ZH = ("手机 耳机 蓝牙耳机 洗衣机 冰箱 电视 笔记本电脑 充电器 路由器 空调 热水器 会员卡 优惠券 扫地机器人 "
               "电饭煲 微波炉 平板 手表 相机 打印机 键盘 鼠标 显示器 音箱 吸尘器 净水器 电动牙刷 吹风机").split()
ISSUES_ZH = ("无法开机 物流延误 发票开错 屏幕碎裂 申请退货 配送地址修改 账号被锁定 密码忘记 无法连接 充电很慢 "
             "噪音太大 漏水 收到的商品有划痕 少发了配件 快递丢件 安装师傅没来 积分没到账 订单被取消 "
             "价格保护 以旧换新 维修进度 保修期查询 换货 催发货 优惠没生效").split()
PRODUCTS_EN = ("phone headphones laptop charger router fridge washer television tablet watch camera printer "
               "keyboard mouse monitor speaker vacuum kettle blender subscription voucher membership").split()
ISSUES_EN = ("does not turn on|arrived damaged|wrong invoice|delivery is late|cannot log in|password reset "
             "not working|missing parts|screen cracked|order cancelled|charged twice|warranty claim|"
             "exchange request|installation missed|points not credited|discount not applied").split("|")
COMMON_CHARS = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面"
                "而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好"
                "应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命"
                "此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老"
                "头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即"
                "保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安"
                "场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉"
                "林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸"
                "历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包")
BENCH_WORDS = {"common_zh": "退款", "rare_zh": "鹦鹉", "common_en": "refund", "rare_en": "zeppelin"}
RARE_TICKETS = 60
START = datetime(2025, 1, 1, tzinfo=timezone.utc)


def word_pools(rng):
    zh = ["".join(rng.choice(COMMON_CHARS) for _ in range(rng.choice((2, 2, 2, 3, 4)))) for _ in range(6000)]
    syllables = [c + v for c in "bcdfghklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou", "er")]
    en = ["".join(rng.choice(syllables) for _ in range(rng.choice((1, 2, 2, 3)))) for _ in range(8000)]
    return zh, en


def zipf_pick(rng, pool):
    return pool[min(int(rng.paretovariate(1.1)) - 1, len(pool) - 1)] if rng.random() < 0.7 else rng.choice(pool)


@lru_cache(maxsize=200_000)
def part_terms(part):
    return tuple(rules.terms(part)), tuple(rules.tail_characters(part))


def field_document(parts):
    """``rules.document`` of " ".join(parts), from cached parts (a space separates them either way)."""
    main, tails = [], []
    for part in parts:
        terms, tail = part_terms(part)
        main += terms
        tails += tail
    return main + tails


def ticket_texts(rng, pools, number, planted):
    zh_pool, en_pool = pools
    chinese = number % 2 == 0
    if chinese:
        subject = [rng.choice(PRODUCTS_ZH) + rng.choice(ISSUES_ZH)]
        description = [zipf_pick(rng, zh_pool) + zipf_pick(rng, zh_pool) + "，" for _ in range(rng.randint(4, 12))]
        description.append(f"订单号 {rng.randint(10 ** 9, 10 ** 10)}")
        common = BENCH_WORDS["common_zh"]
    else:
        subject = [rng.choice(PRODUCTS_EN), rng.choice(ISSUES_EN)]
        description = [zipf_pick(rng, en_pool) for _ in range(rng.randint(8, 25))]
        description.append(f"order {rng.randint(10 ** 9, 10 ** 10)}")
        common = BENCH_WORDS["common_en"]
    messages = []
    for _ in range(rng.choice((0, 1, 1, 2, 2, 2, 3, 2, 1, 2))):   # 1.6 on average
        pool = zh_pool if chinese else en_pool
        messages.append([zipf_pick(rng, pool) for _ in range(rng.randint(4, 14))])
    if rng.random() < 0.3:
        (description if rng.random() < 0.6 or not messages else messages[0]).append(common)
    if number in planted:
        rare = BENCH_WORDS["rare_zh" if chinese else "rare_en"]
        (messages[0] if messages and planted[number] else description).append(rare)
    return subject, description, messages


def copy(connection, table_name, columns, rows):
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(r"\N" if value is None else str(value).replace("\\", "\\\\").replace("\t", " ")
                               .replace("\n", " ") for value in row) + "\n")
    buffer.seek(0)
    with connection.connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {table_name} ({', '.join(columns)}) FROM STDIN", buffer)


TICKET_COLUMNS = ("id", "subject", "description", "channel", "kind", "priority", "state", "customer_name",
                  "customer_contact", "customer_tier", "assignee", "team", "tags", "required_skills", "custom_fields",
                  "transfer_count", "reopen_count", "created_at", "updated_at", "escalation_level")
STATES = ("new", "assigned", "in_progress", "waiting_customer", "resolved", "closed")


def load(url, tickets, seed):
    rng = random.Random(seed)
    pools = word_pools(rng)
    chinese_ids = [n for n in range(1, tickets + 1) if n % 2 == 0]
    english_ids = [n for n in range(1, tickets + 1) if n % 2 == 1]
    planted = {n: i % 2 == 0 for ids in (chinese_ids, english_ids) for i, n in enumerate(rng.sample(ids, RARE_TICKETS))}
    engine = create_engine(url)
    step = (timedelta(days=700) / tickets)
    started, message_id, messages_total = time.monotonic(), 0, 0
    batch = 50_000
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_ticket_search_document"))
    for first in range(1, tickets + 1, batch):
        ticket_rows, message_rows, search_rows = [], [], []
        for number in range(first, min(first + batch, tickets + 1)):
            subject, description, messages = ticket_texts(rng, pools, number, planted)
            created = START + step * number
            state = rng.choice(STATES)
            assignee = None if state == "new" else f"agent{rng.randint(1, 400)}"
            ticket_rows.append((number, " ".join(subject), " ".join(description),
                                rng.choice(("phone", "chat", "email")),
                                rng.choice(("inquiry", "complaint", "after_sales")),
                                rng.choice(("low", "normal", "normal", "high", "urgent")), state, "客户",
                                "x@example.com",
                                "standard", assignee, f"team{rng.randint(1, 30)}", "[]", "[]", "{}", 0, 0,
                                created.isoformat(), (created + timedelta(hours=5)).isoformat(), 0))
            for body in messages:
                message_id += 1
                message_rows.append((message_id, number, "reply", assignee or "agent1", " ".join(body),
                                     (created + timedelta(hours=1)).isoformat()))
            fields = {"subject": field_document(subject), "description": field_document(description),
                      "messages": [term for body in messages for term in field_document(body)]}
            search_rows.append((number, search.TICKETS.tsvector(fields)))
        messages_total += len(message_rows)
        with engine.begin() as connection:
            copy(connection, "tickets", TICKET_COLUMNS, ticket_rows)
            copy(connection, "ticket_messages", ("id", "ticket_id", "kind", "author", "body", "created_at"),
                 message_rows)
            copy(connection, "ticket_search", ("ticket_id", "document"), search_rows)
        print(f"loaded {number} tickets, {messages_total} messages ({time.monotonic() - started:.0f}s)", flush=True)
    with engine.begin() as connection:
        connection.execute(text("SELECT setval('tickets_id_seq', :n)"), {"n": tickets})
        connection.execute(text("SELECT setval('ticket_messages_id_seq', :n)"), {"n": max(message_id, 1)})
        began = time.monotonic()
        connection.execute(text("SET maintenance_work_mem = '512MB'"))
        connection.execute(text("CREATE INDEX ix_ticket_search_document ON ticket_search USING gin (document)"))
        print(f"GIN index built in {time.monotonic() - began:.0f}s", flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
        sizes = connection.execute(text(
            "SELECT pg_size_pretty(pg_total_relation_size('ticket_search')), "
            "pg_size_pretty(pg_relation_size('ix_ticket_search_document')), "
            "pg_size_pretty(pg_total_relation_size('tickets')), (SELECT count(*) FROM ticket_messages)")).one()
        print(f"ticket_search {sizes[0]} (GIN {sizes[1]}), tickets {sizes[2]}, messages {sizes[3]}", flush=True)
    engine.dispose()


QUERIES = {
    "rare zh word": {"q": "鹦鹉"},
    "common zh word": {"q": "退款"},
    "rare en word": {"q": "zeppelin"},
    "common en word": {"q": "refund"},
    "zh phrase (3 bigrams)": {"q": '"蓝牙耳机"'},
    "field + common word": {"q": "state:closed priority:high refund"},
    "field + rare word": {"q": "鹦鹉 state:new OR zeppelin"},
    "common word, sort -created_at": {"q": "refund", "sort": "-created_at"},
    "common word, sort created_at": {"q": "退款", "sort": "created_at"},
    "rare word, sort -created_at": {"q": "zeppelin", "sort": "-created_at"},
    "common word AND NOT": {"q": "refund -phone"},
    "date range + word": {"q": "退款 created:2026-01-01..2026-01-31"},
}


class Caller:
    roles, actor, teams = ("admin",), "admin", ()


class Uow:
    def __init__(self, session):
        self.session, self.caller = session, Caller()


def statements(session, query):
    uow = Uow(session)
    tree = search.parse_query(query["q"])
    conditions = [search.condition(uow, tree)]
    order_by, conditions = search.order(uow, tree, query.get("sort"), conditions)
    page = select(Ticket).where(*conditions).order_by(*order_by).limit(20)
    count = select(func.count()).select_from(Ticket).where(*conditions)
    capped = select(func.count()).select_from(select(Ticket.id).where(*conditions).limit(1001).subquery())
    return page, count, capped


def timed(session, statement, runs):
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        session.execute(statement).all()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(round(0.95 * len(times))) - 1)]


def measure(url, runs, explain):
    engine = create_engine(url)
    print(f"\n{'query':34} {'page p50':>9} {'p95':>7} {'count p50':>10} {'p95':>7} "
          f"{'count≤1001 p50':>15} {'p95':>7} ms", flush=True)
    with Session(engine) as session:
        for name, query in QUERIES.items():
            page, count, capped = statements(session, query)
            session.execute(page).all()  # warm
            page_times = timed(session, page, runs)
            count_times = timed(session, count, max(3, runs // 10))
            capped_times = timed(session, capped, runs)
            print(f"{name:34} {page_times[0]:9.1f} {page_times[1]:7.1f} {count_times[0]:10.1f} {count_times[1]:7.1f} "
                  f"{capped_times[0]:15.1f} {capped_times[1]:7.1f}", flush=True)
            if explain:
                compiled = page.compile(engine, compile_kwargs={"literal_binds": True})
                plan = session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")).scalars().all()
                print("    " + "\n    ".join(plan), flush=True)
    engine.dispose()


KB_QUERIES = {"kb zh word": "退款", "kb zh question": "退款多久到账", "kb zh rare": "鹦鹉", "kb en word": "refund",
              "kb en question": "how do I reset my password", "kb en rare": "zeppelin"}


def load_articles(session, count, seed):
    """``count`` articles (half Chinese, half English) the way the service writes them."""
    from ticketing.knowledge import handlers as knowledge
    from ticketing.models import KbArticle
    rng = random.Random(seed)
    zh_pool, en_pool = word_pools(rng)
    now = datetime.now(timezone.utc)
    for number in range(count):
        if number % 2:
            title = rng.choice(PRODUCTS_ZH) + rng.choice(ISSUES_ZH)
            body = "，".join(zipf_pick(rng, zh_pool) + zipf_pick(rng, zh_pool) for _ in range(rng.randint(20, 80)))
            body += "。退款" if rng.random() < 0.3 else ""
        else:
            title = f"{rng.choice(PRODUCTS_EN)} {rng.choice(ISSUES_EN)}"
            body = " ".join(zipf_pick(rng, en_pool) for _ in range(rng.randint(40, 200)))
            body += " refund password reset" if rng.random() < 0.3 else ""
        if number in (17, 18, 1017, 1018):
            body += " 鹦鹉 zeppelin"
        article = KbArticle(title=title, body=body, category=rng.choice(("billing", "售后", "shipping")),
                            tags=[], hits=0, author="bench", created_at=now, updated_at=now)
        session.add(article)
        session.flush()
        knowledge.index(Uow(session), article)
    session.commit()


def measure_kb(url, runs, articles):
    from ticketing.knowledge import handlers as knowledge
    from ticketing.models import KbArticle
    engine = create_engine(url)
    with Session(engine) as session:
        if session.scalar(select(func.count()).select_from(KbArticle)) == 0:
            began = time.monotonic()
            load_articles(session, articles, 5)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE kb_search"))
                connection.execute(text("VACUUM ANALYZE kb_articles"))
            print(f"\n{articles} articles indexed in {time.monotonic() - began:.0f}s")
        print(f"{'knowledge-base search (rank: all its statements)':50} {'p50':>7} {'p95':>7} ms  results")
        for name, query in KB_QUERIES.items():
            uow = Uow(session)
            found = knowledge.rank(uow, query, None, 10)
            times = []
            for _ in range(runs):
                began = time.perf_counter()
                knowledge.rank(uow, query, None, 10)
                times.append((time.perf_counter() - began) * 1000)
            times.sort()
            print(f"{name + ' (' + query + ')':50} {statistics.median(times):7.1f} "
                  f"{times[max(0, int(round(0.95 * runs)) - 1)]:7.1f}     {len(found)}", flush=True)
    engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--database", help="measure an existing scratch database (made with --keep)")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each page query")
    parser.add_argument("--articles", type=int, default=5000, help="knowledge-base articles (0: no KB part)")
    args = parser.parse_args()
    base = ADMIN_URL.rsplit("/", 1)[0]
    name = args.database or f"csops_search_scale_{os.getpid()}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        if not args.database:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            migrate.upgrade("ticketing", f"{base}/{name}")
            load(f"{base}/{name}", args.tickets, args.seed)
        measure(f"{base}/{name}", args.runs, args.explain)
        if args.articles:
            measure_kb(f"{base}/{name}", args.runs, args.articles)
    finally:
        if not (args.keep or args.database):
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            print(f"kept database {name}")
        admin.dispose()


if __name__ == "__main__":
    main()

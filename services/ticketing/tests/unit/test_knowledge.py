import math
from collections import Counter

import pytest

from ticketing.knowledge import rules as knowledge
from ticketing.knowledge.rules import IndexedArticle, index_article, is_gap, rank, snippet, terms


# A small knowledge base of customer-service articles: (id, title, body, tags).
CORPUS = [
    (1, "如何办理退货",
     "收到商品后7天内可申请退货。退货流程：登录账户，进入我的订单，选择需要退货的商品，"
     "填写退货原因并提交，审核通过后按页面提示寄回商品。", ["退货", "售后"]),
    (2, "退款多久到账",
     "退货商品入库后，退款将在1至3个工作日内原路退回。银行卡退款到账时间以银行为准，"
     "一般不超过7个工作日。", ["退款"]),
    (3, "快递延误怎么办",
     "如果包裹超过预计送达时间仍未收到，可在订单详情查看物流信息。物流超过48小时未更新的，"
     "请联系客服登记催件，我们会协调快递公司处理。", ["物流", "配送"]),
    (4, "如何开具发票",
     "订单完成后可在订单详情页申请电子发票，支持个人和企业抬头。企业发票需要填写税号，"
     "发票将发送至预留邮箱。", ["发票"]),
    (5, "保修与维修服务",
     "产品自签收之日起享受一年保修，非人为损坏的质量问题可免费维修。屏幕碎裂、进水等人为损坏"
     "不在保修范围内，可付费维修，例如 iPhone 15 更换屏幕。", ["保修", "维修"]),
    (6, "忘记密码怎么办",
     "在登录页面点击忘记密码，通过绑定的手机号接收验证码后即可重置密码。如手机号已停用，"
     "请联系客服进行人工身份验证。", ["账户", "密码"]),
    (7, "VIP会员权益",
     "VIP会员享受免运费、专属客服和生日礼券。会员等级根据年度消费金额每年调整一次。", ["会员", "VIP"]),
    (8, "投诉升级处理",
     "客户对处理结果不满意时，一线客服应在24小时内将投诉升级至主管。主管需在48小时内回复客户"
     "并记录处理结果。", ["投诉", "升级"]),
    (9, "How to request a refund",
     "Customers can request a refund within 30 days of delivery. Refunds are issued to the original "
     "payment method. Once the returned item is inspected, the order is refunded within 3 business days.",
     ["refund", "billing"]),
    (10, "Delayed delivery",
     "If a parcel is delayed, check the tracking page. Deliveries delayed by more than 5 days can be "
     "escalated to the courier.", ["shipping"]),
    (11, "Warranty repair for X200 headphones",
     "The X200 has a two-year warranty. Send the headphones for repair together with your order number.",
     ["warranty"]),
    (12, "Resetting your account password",
     "Use the Forgot password link on the sign-in page. A reset link is emailed to you within minutes.",
     []),
]


def document_frequency(articles):
    """What the service gets from the index table: articles per term, any field."""
    df = Counter()
    for article in articles:
        df.update(set(article.title_terms) | set(article.body_terms) | article.tag_terms)
    return df


@pytest.fixture(scope="module")
def kb():
    articles = [index_article(*row) for row in CORPUS]
    df = document_frequency(articles)

    def search(query, limit=10):
        return rank(query, articles, len(articles), df, limit)
    return search


# --- tokenising -----------------------------------------------------------------

def test_a_chinese_run_gives_overlapping_bigrams_and_a_lone_character_itself():
    assert terms("退货流程") == ["退货", "货流", "流程"]
    assert terms("退") == ["退"]
    assert terms("申请退货，7天") == ["申请", "请退", "退货", "7", "天"]


def test_chinese_question_words_and_particles_cut_the_run_like_stop_words():
    assert terms("如何办理退货") == ["办理", "理退", "退货"]
    assert terms("怎么申请退款呢？") == ["申请", "请退", "退款"]
    assert terms("为什么") == []


def test_english_words_are_lowercased_with_stop_words_dropped():
    assert terms("The Refund of an Order is delayed") == ["refund", "order", "delay"]


@pytest.mark.parametrize("word, expected", [
    ("refund", "refund"), ("refunds", "refund"), ("refunded", "refund"), ("refunding", "refund"),
    ("deliveries", "delivery"), ("delivery", "delivery"), ("applied", "apply"),
    ("shipped", "ship"), ("shipping", "ship"), ("billed", "bill"), ("added", "add"),
    ("charge", "charg"), ("charges", "charg"), ("charged", "charg"), ("charging", "charg"),
    ("boxes", "box"), ("addresses", "address"),
    ("address", "address"), ("status", "status"), ("need", "need"), ("speed", "speed"),
    ("string", "string"), ("fee", "fee"), ("bus", "bus"),
])
def test_the_tiny_stemmer(word, expected):
    assert knowledge.stem(word) == expected
    assert terms(word) == [expected]


def test_numbers_and_model_numbers_are_kept_whole_and_not_stemmed():
    assert terms("Order #10023 for X200s, model x200") == ["order", "10023", "x200s", "model", "x200"]


def test_a_word_longer_than_the_index_column_is_cut_the_same_way_in_articles_and_queries():
    word = "0" * 250
    assert terms(f"{word} x") == ["0" * knowledge.MAX_TERM_LENGTH, "x"]
    [(found, _)] = rank(word, [index_article(1, word, "body", [])], 1, {"0" * knowledge.MAX_TERM_LENGTH: 1})
    assert found == 1


def test_apostrophes_inside_words_are_dropped():
    assert terms("customer's order didn’t ship") == ["customer", "order", "didnt", "ship"]


def test_mixed_english_numbers_and_chinese_without_spaces():
    # "iphone" loses its final e like every stem does (iPhones -> iphon too).
    assert terms("iPhone 15 屏幕碎了") == ["iphon", "15", "屏幕", "幕碎", "碎了"]
    assert terms("iPhone15屏幕") == ["iphone15", "屏幕"]


def test_full_width_letters_and_digits_equal_half_width():
    assert terms("ＶＩＰ会员") == ["vip", "会员"]
    assert terms("订单１２３４５") == ["订单", "12345"]
    assert terms("ｉＰｈｏｎｅ　１５") == terms("iPhone 15")


def test_punctuation_of_both_scripts_and_empty_text_give_no_terms():
    assert terms("") == []
    assert terms("   ") == []
    assert terms("。，！？、；：“”‘’（）【】《》…—,.;:!?()[]{}<>-_/\\@#$%^&*~`|+=") == []
    assert terms("the of a to is") == []
    assert terms("退货。流程") == ["退货", "流程"]


# --- indexing -------------------------------------------------------------------

def test_index_article_counts_terms_per_field():
    article = index_article(4, "Refund policy", "Refunds are refunded. The policy!", ["Billing", "VIP 会员"])
    assert article == IndexedArticle(
        article_id=4,
        title_terms=Counter({"refund": 1, "policy": 1}),
        body_terms=Counter({"refund": 2, "policy": 1}),
        tag_terms=frozenset({"bill", "vip", "会员"}),
        length=3,
    )


def test_index_rows_round_trip_through_the_table_layout():
    article = index_article(9, "退货", "退货流程 refund", ["售后"])
    rows = knowledge.index_rows(article)
    assert rows == [
        ("退货", 9, "title", 1),
        ("refund", 9, "body", 1), ("流程", 9, "body", 1), ("货流", 9, "body", 1), ("退货", 9, "body", 1),
        ("售后", 9, "tag", 1),
    ]
    other = index_article(2, "x", "", None)
    assert knowledge.articles_from_rows(rows + knowledge.index_rows(other)) == [other, article]


def test_rows_with_an_unknown_field_are_refused():
    with pytest.raises(ValueError):
        knowledge.articles_from_rows([("退货", 1, "summary", 1)])


# --- ranking --------------------------------------------------------------------

def test_chinese_query_without_spaces_finds_the_article_by_its_bigrams():
    # Query 退货流程 -> 退货, 货流, 流程. Article 1's title 如何办理退货 -> 办理, 理退, 退货
    # (如何 is a stop word); its body says 退货流程. So 退货 and 流程 match, the
    # cross-word bigram 货流 also matches here (the body has the same phrase).
    # Body: 退货 货流 流程 登录 录账 账户 选择 择订 订单, 9 terms = the average,
    # so no length penalty; N = df = 1 gives idf ln(1 + 0.5 / 1.5) for each term.
    # 退货: body 1 + title 3 * 1 = tf 4; 货流 and 流程: tf 1 each.
    article = index_article(1, "如何办理退货", "退货流程：登录账户，选择订单。", [])
    expected = math.log(4 / 3) * (4 * 2.2 / 5.2 + 2.2 / 2.2 + 2.2 / 2.2)
    assert rank("退货流程", [article], 1, document_frequency([article])) == [(1, pytest.approx(expected, abs=1e-6))]
    # With only the title the article shares 1 of 3 query terms: below half, not found.
    title_only = index_article(1, "如何办理退货", "登录账户，选择订单。", [])
    assert rank("退货流程", [title_only], 1, document_frequency([title_only])) == []
    # The body need not repeat the phrase: 退货 in the title and 流程 anywhere is 2 of 3.
    split = index_article(1, "如何办理退货", "办理流程：登录账户。", [])
    assert [i for i, _ in rank("退货流程", [split], 1, document_frequency([split]))] == [1]


def test_bm25_score_by_hand():
    # One matching term, tf 2 in a body of 3 terms (= average, so no length
    # penalty), 10 articles of which 2 contain it: idf = ln(1 + 8.5 / 2.5).
    article = index_article(1, "Policy", "refund refund window", [])
    [(article_id, score)] = rank("refund", [article], 10, {"refund": 2})
    assert article_id == 1
    assert score == pytest.approx(math.log(4.4) * 2 * 2.2 / (2 + 1.2), abs=1e-6)
    # The same term once in the title counts as tf 3: 3 * 2.2 / 4.2.
    titled = index_article(2, "Refund", "policy window text", [])
    assert rank("refund", [titled], 10, {"refund": 2}) == [(2, pytest.approx(math.log(4.4) * 3 * 2.2 / 4.2, abs=1e-6))]


def test_longer_bodies_score_lower_for_the_same_count():
    short = index_article(1, "a", "refund window", [])
    long = index_article(2, "a", "refund window " + "policy " * 10, [])
    ranked = rank("refund", [long, short], 2, {"refund": 2})
    assert [i for i, _ in ranked] == [1, 2]


def test_title_match_beats_body_match():
    in_body = index_article(1, "Payment options", "A warranty covers the device. Cards are accepted.", [])
    in_title = index_article(2, "Warranty", "It covers the device. Cards are accepted today.", [])
    articles = [in_body, in_title]
    ranked = rank("warranty", articles, 2, document_frequency(articles))
    assert [i for i, _ in ranked] == [2, 1]
    assert ranked[0][1] > ranked[1][1]


def test_tag_match_adds_a_fixed_boost_and_alone_is_enough_to_be_found():
    plain = index_article(1, "发票说明", "电子发票发送至邮箱。", [])
    tagged = index_article(2, "发票说明", "电子发票发送至邮箱。", ["发票"])
    tag_only = index_article(3, "开票须知", "抬头与税号必须填写正确。", ["发票"])
    articles = [plain, tagged, tag_only]
    # In a base of 100 articles where 3 mention 发票, idf is ln(1 + 97.5 / 3.5),
    # so a title and body match is worth more than the tag boost alone.
    ranked = rank("发票", articles, 100, document_frequency(articles))
    assert [i for i, _ in ranked] == [2, 1, 3]
    assert ranked[0][1] - ranked[1][1] == pytest.approx(knowledge.TAG_BOOST)
    assert ranked[2][1] == pytest.approx(knowledge.TAG_BOOST)


def test_articles_matching_fewer_than_half_the_query_terms_are_dropped(kb):
    # 会员积分兑换礼品 -> 会员, 员积, 积分, 分兑, 兑换, 换礼, 礼品: the VIP article
    # matches only 会员 (1 of 7). Plain OR ranking would return it as junk.
    assert kb("会员积分兑换礼品") == []
    assert is_gap(kb("会员积分兑换礼品"))
    # Exactly half is enough: 会员 礼品 -> 会员 matches, 礼品 does not.
    assert [i for i, _ in kb("会员 礼品")] == [7]
    # A long query mostly about article 2: 8 of its 9 bigrams match there,
    # while the returns article (退货, 商品 only) falls under half.
    assert [i for i, _ in kb("退货商品退款多久到账")] == [2]


def test_english_noise_is_dropped_too(kb):
    # refund, bank, transfer, fee, currency: article 9 has only "refund".
    assert kb("refund bank transfer fee currency") == []
    assert [i for i, _ in kb("refund bank")] == [9]


def test_empty_and_punctuation_only_queries_return_nothing():
    article = index_article(1, "退货", "退货流程", [])
    df = document_frequency([article])
    for query in ["", "   ", "？！。，", "...!!!", "the of a"]:
        assert rank(query, [article], 1, df) == []
    assert rank("退货", [], 1, df) == []
    assert rank("退货", [article], 1, df, limit=0) == []


def test_equal_scores_are_ordered_by_article_id():
    articles = [index_article(i, "Refund policy", "refunds within 30 days", []) for i in (7, 3, 5)]
    ranked = rank("refund", articles, 3, document_frequency(articles))
    assert [i for i, _ in ranked] == [3, 5, 7]
    assert len({score for _, score in ranked}) == 1


def test_limit_keeps_the_best(kb):
    assert len(kb("客服", limit=None)) == 4
    assert kb("客服", limit=2) == kb("客服", limit=None)[:2]


@pytest.mark.parametrize("query, top", [
    ("退货流程", 1),
    ("怎么退货", 1),
    ("退款到账", 2),
    ("退款多久到账？", 2),
    ("快递延误", 3),
    ("物流信息没有更新", 3),
    ("开发票", 4),
    ("企业发票税号", 4),
    ("iPhone 15 屏幕碎了", 5),
    ("保修范围", 5),
    ("忘记密码", 6),
    ("手机号停用 验证码", 6),
    ("ＶＩＰ会员", 7),
    ("vip 免运费", 7),
    ("投诉升级", 8),
    ("客户不满意 主管", 8),
    ("refunds", 9),
    ("refunded", 9),
    ("refund", 9),
    ("refunding", 9),
    ("delivery delayed", 10),
    ("Delays in deliveries", 10),
    ("X200 warranty", 11),
    ("ｘ２００ repair", 11),
    ("reset password", 12),
    ("forgot my password!", 12),
])
def test_realistic_queries_rank_the_expected_article_first(kb, query, top):
    results = kb(query)
    assert results, query
    assert results[0][0] == top
    assert not is_gap(results)


def test_full_width_queries_match_exactly_like_half_width_ones(kb):
    # Alone, so that the match-share rule cannot hide a missed full-width term.
    assert kb("ＶＩＰ") == kb("vip") != []
    assert kb("ｘ２００") == kb("X200") != []
    assert kb("ＶＩＰ会员") == kb("VIP 会员")


def test_stemming_makes_all_forms_rank_identically(kb):
    assert kb("refunds") == kb("refunded") == kb("refund") == kb("refunding")


def test_unrelated_queries_are_gaps(kb):
    for query in ["显卡驱动安装失败", "cryptocurrency mining", "会员积分兑换礼品", "？？？"]:
        assert is_gap(kb(query)), query


def test_is_gap():
    assert is_gap([]) is True
    assert is_gap([(1, 2.0)]) is False


# --- snippets -------------------------------------------------------------------

def test_snippet_centres_the_first_match_and_marks_both_cuts():
    text = "一二三四五六七八九十" * 3 + "退货流程" + "甲乙丙丁戊己庚辛壬癸" * 3
    # 流程 is at 32..34; a 10-character window starts (10 - 2) // 2 = 4 before it.
    assert snippet(text, "流程", width=10) == "…九十退货流程甲乙丙丁…"


def test_snippet_at_the_start_or_end_has_one_mark():
    text = "退货流程" + "一二三四五六七八九十" * 3
    assert snippet(text, "退货", width=8) == "退货流程一二三四…"
    text = "一二三四五六七八九十" * 3 + "退货流程"
    assert snippet(text, "流程", width=8) == "…七八九十退货流程"


def test_snippet_matches_by_term_so_stems_and_full_width_find_their_place():
    text = "Refunds are issued to the original payment method. Once the returned item is inspected, " \
           "the order is refunded within 3 business days."
    # "inspection" stems to inspection, not inspect: no match, the start is shown.
    assert snippet(text, "inspection", width=30) == "Refunds are issued to the…"
    # "inspecting" -> inspect, found in "inspected" at 77..86; the window
    # starts (30 - 9) // 2 = 10 before, 67..97, on the "d" of "returned",
    # which is not shown in part.
    assert snippet(text, "inspecting", width=30) == "…item is inspected, the order…"
    # ＶＩＰ at 47..50 of 55 characters; window 44..54.
    assert snippet("会员等级说明：" + "。" * 40 + "ＶＩＰ会员免运费", "vip", width=10) == "…。。。ＶＩＰ会员免运…"


def test_snippet_drops_latin_words_cut_at_the_edges():
    text = "alpha bravo charlie delta echo foxtrot golf"
    # delta at 20..25, window 15..30 = "rlie delta echo": the partial "rlie" goes.
    assert snippet(text, "delta", width=15) == "…delta echo…"


def test_snippet_of_short_text_is_the_whole_text_with_whitespace_collapsed():
    assert snippet("  退货\n\n流程  ", "退货") == "退货 流程"
    assert snippet("", "退货") == ""

import numpy as np
import pytest

from monitoring.sentiment import corpus
from monitoring.sentiment import rules as sentiment
from monitoring.sentiment.rules import Head, SentimentModel


@pytest.fixture(scope="module")
def model():
    return SentimentModel.load()


def test_the_shipped_model_reads_three_ways(model):
    texts = ["等了三个小时外卖还没到，客服电话也打不通", "服务很好，五分钟就解决了问题", "请问门店周末几点关门？",
             "Still waiting for my refund after two weeks", "Great service, my issue was fixed in five minutes",
             "What time does the store open on Sunday?"]
    verdicts = model.analyse(texts)
    assert [v.sentiment for v in verdicts] == ["negative", "positive", "neutral"] * 2
    assert [v.language for v in verdicts] == ["zh"] * 3 + ["en"] * 3
    assert all(-1 <= v.score <= 1 and 1 / 3 <= v.confidence <= 1 for v in verdicts)
    assert verdicts[0].score < 0 < verdicts[1].score
    assert model.version == 1


def test_a_given_language_tag_wins_over_detection(model):
    [verdict] = model.analyse(["好"], ["zh-Hans"])
    assert verdict.language == "zh"
    assert model.analyse([]) == []


@pytest.mark.parametrize("text, language", [
    ("外卖太慢了", "zh"), ("The app crashed", "en"), ("iPhone 15 屏幕碎了", "zh"), ("12345 !!!", "und"),
    ("Acme 外卖 delivery was slow and the food was cold", "en"),
])
def test_language_detection(text, language):
    assert sentiment.detect_language(text) == language


def test_crisis_terms_whatever_the_sentiment():
    assert sentiment.crisis_terms("已经打了12315投诉，准备起诉") == ["12315", "起诉"]
    assert sentiment.crisis_terms("This is a SCAM, I'm calling my lawyer") == ["lawyer", "scam"]  # list order
    assert sentiment.crisis_terms("味道不错，下次还来") == []


def test_a_paraphrased_crisis_is_read_as_its_kind_but_only_when_negative(model):
    texts = ["Whole family was throwing up all night after the chicken from your deli", "退款到账了，谢谢",
             "Refund came through, thanks"]
    verdicts = model.analyse(texts)
    assert sentiment.crisis_terms(texts[0]) == []  # no keyword: the similarity finds it
    assert sentiment.crisis_signals(texts[0], verdicts[0]) == ["~food_safety"]
    assert [sentiment.crisis_signals(text, v) for text, v in zip(texts[1:], verdicts[1:])] == [[], []]


def test_links_and_mentions_are_no_sentiment():
    assert sentiment.without_names("@差评君 看 https://t.cn/bad") == "看"


def test_reposts_equal_but_for_names_and_links_are_scored_once_and_alike(model, monkeypatch):
    embedded = []
    embed = sentiment.embed
    monkeypatch.setattr(sentiment, "embed", lambda texts: embedded.append(list(texts)) or embed(texts))
    story = "Acme lost my parcel AGAIN and nobody answers :("
    texts = [f"RT @user{i}: {story} https://t.co/x{i}" for i in range(5)] + ["@小王 外卖送得太慢了", "@小李 外卖送得太慢了"]

    verdicts = model.analyse(texts)

    assert [len(batch) for batch in embedded] == [2]  # the English story once, the Chinese text once
    assert len({(v.sentiment, v.score) for v in verdicts[:5]}) == 1 and verdicts[5] == verdicts[6]


def test_a_head_survives_its_bytes():
    head = Head(np.eye(3, 512, dtype=np.float32), np.zeros(3, dtype=np.float32),
                np.eye(2, 512, dtype=np.float32), ("fraud", "injury"), 0.5)
    again = Head.from_bytes(head.to_bytes())
    assert np.allclose(again.coef, head.coef) and again.prototype_kinds == ("fraud", "injury")
    assert again.crisis_kinds(np.eye(3, 512, dtype=np.float32)) == ["fraud", "injury", None]


def test_the_split_is_by_topic_and_the_corpus_holds_both_languages_and_every_label():
    rows = corpus.social_posts()
    dev, train = corpus.social_posts("dev"), corpus.social_posts("train")
    assert len(dev) + len(train) == len(rows)
    assert not {row["topic"] for row in dev} & {row["topic"] for row in train}
    assert {(row["lang"], row["label"]) for row in dev} == {(lang, label) for lang in ("zh", "en")
                                                            for label in sentiment.LABELS}

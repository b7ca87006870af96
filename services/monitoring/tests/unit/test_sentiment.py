import pytest

from monitoring.sentiment import rules as sentiment
from monitoring.sentiment.rules import SentimentModel


@pytest.fixture(scope="module")
def model():
    return SentimentModel.load()


def test_the_shipped_model_reads_plain_complaints_and_praise(model):
    texts = ["等了三个小时外卖还没到，客服电话也打不通", "服务很好，五分钟就解决了问题",
             "Still waiting for my refund after two weeks", "Great service, my issue was fixed in five minutes"]
    verdicts = model.analyse(texts)
    assert [v.sentiment for v in verdicts] == ["negative", "positive", "negative", "positive"]
    assert [v.language for v in verdicts] == ["zh", "zh", "en", "en"]
    assert all(-1 <= v.score <= 1 for v in verdicts)
    assert verdicts[0].score < 0 < verdicts[1].score


def test_a_given_language_tag_wins_over_detection(model):
    [verdict] = model.analyse(["好"], ["zh-Hans"])
    assert verdict.language == "zh"
    assert model.analyse([]) == []


def test_the_neutral_band():
    model = SentimentModel(None, None, 0.0, neutral_band=0.2)
    assert [model.label(s) for s in (-0.5, -0.2, -0.1, 0.1, 0.2, 0.9)] == [
        "negative", "negative", "neutral", "neutral", "positive", "positive"]


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


def test_links_and_mentions_are_no_sentiment():
    assert sentiment.clean("@差评君 看 https://t.cn/bad") == "  看  "


def test_english_negation_is_read_by_the_rules_the_n_grams_lack(model):
    texts = ["I am not happy with this delivery", "Not bad at all, they sorted it quickly :)"]
    n_grams_alone = [model.label(score) for score in 2 * model.positive_probability(texts) - 1]
    assert n_grams_alone == ["neutral", "negative"]  # what the model alone made of them
    assert [verdict.sentiment for verdict in model.analyse(texts)] == ["negative", "neutral"]


def test_reposts_equal_but_for_names_and_links_are_scored_once_and_alike(model, monkeypatch):
    scored = []
    score_texts = model.positive_probability
    monkeypatch.setattr(model, "positive_probability", lambda texts: scored.append(list(texts)) or score_texts(texts))
    story = "Acme lost my parcel AGAIN and nobody answers :("
    texts = [f"RT @user{i}: {story} https://t.co/x{i}" for i in range(5)] + ["@小王 外卖送得太慢了", "@小李 外卖送得太慢了"]

    verdicts = model.analyse(texts)

    assert [len(batch) for batch in scored] == [2]  # the English story once, the Chinese text once
    assert len({(v.sentiment, v.score) for v in verdicts[:5]}) == 1 and verdicts[5] == verdicts[6]
    assert model.analyse([texts[0]]) == verdicts[:1]  # scored alone, the same verdict

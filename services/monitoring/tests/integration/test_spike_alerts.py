"""A bucket that spikes for a second reason joins the spike alert its first
reason raised (found by tests/faults: the second raised the same alert key
again, and every post of that topic and bucket failed until the bucket ended)."""
from datetime import datetime, timezone

from plumbing.testing import call

COMPLAINTS = ("等了三个小时还没到，客服电话也打不通", "退款申请两周了还没处理，太过分了", "送来的饭是凉的，还少了一半",
              "汉堡里有头发，恶心", "骑手态度恶劣还骂人", "包装破了汤洒了一袋子", "订单被无故取消，钱也不退",
              "送错了地址，打电话没人接", "米饭夹生根本没法吃", "配送费乱收，坑人", "商家拒绝开发票，态度很差",
              "饮料全洒了，商家不认账", "备注不要辣结果辣得没法吃", "客服只会复制粘贴，问题一直不解决",
              "餐具没给，只能用手吃", "红包规则太坑，根本用不上")
OTHERS = ("菜量越来越少价格越来越贵", "优惠券用不了，页面一直报错", "送到的时候菜都坨了", "今天上线了新菜单")


def posts(texts, first):
    now = datetime.now(timezone.utc).isoformat()
    return {"posts": [{"platform": "weibo", "external_id": f"p-{first + index}", "text": f"外卖{text}",
                       "posted_at": now, "author": {"id": f"a-{first + index}", "name": "网友", "followers": 50}}
                      for index, text in enumerate(texts)]}


def test_a_share_spike_after_a_count_spike_joins_its_alert(monitoring, topic):
    call(monitoring, "ingest_posts", posts(COMPLAINTS[:10], 0))  # ten negatives out of nowhere: a count spike
    [alert] = call(monitoring, "list_alerts")["items"]
    assert alert["kind"] == "spike"
    # now also over the minimum total for a jump of the negative share
    call(monitoring, "ingest_posts", posts(COMPLAINTS[10:] + OTHERS, 10))
    assert call(monitoring, "list_alerts")["total"] == 1
    entries = call(monitoring, "get_alert", alert["id"])["entries"]
    assert [entry["changes"].get("reason") for entry in entries if entry["kind"] == "spike"] == ["share"]

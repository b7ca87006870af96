"""The client's address behind trusted proxies (TRUSTED_PROXIES): X-Forwarded-For is read from the
right, the proxies' end, and believed only as far as trusted proxies wrote it."""
import pytest

from gateway import settings
from gateway.api import client_address
from plumbing.config import SettingError

PROXIES = settings.trusted_proxies({"TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7, 2001:db8::/32"})


@pytest.mark.parametrize("peer, forwarded_for, address", [
    ("203.0.113.5", ["198.51.100.1"], "203.0.113.5"),   # not from a proxy: the header is the client's own word
    ("192.0.2.7", [], "192.0.2.7"),   # a proxy that forwarded nothing
    ("192.0.2.7", ["198.51.100.1"], "198.51.100.1"),
    ("192.0.2.7", ["198.51.100.1, 10.2.3.4"], "198.51.100.1"),   # two proxies
    ("192.0.2.7", ["1.2.3.4, 198.51.100.1, 10.2.3.4"], "198.51.100.1"),   # the client's own entry is not reached
    ("192.0.2.7", ["1.2.3.4", "198.51.100.1"], "198.51.100.1"),   # the header given twice reads as one list
    ("192.0.2.7", ["198.51.100.1, not-an-address"], "192.0.2.7"),   # garbage stops at the proxy that passed it
    ("2001:db8::1", ["2001:DB9:0:0::9, 2001:db8::2"], "2001:db9::9"),   # IPv6, written out in full
    (None, ["198.51.100.1"], None),
])
def test_the_client_is_the_nearest_hop_no_trusted_proxy_wrote(peer, forwarded_for, address):
    assert client_address(peer, forwarded_for, PROXIES) == address


def test_without_trusted_proxies_the_header_is_ignored():
    assert client_address("10.2.3.4", ["198.51.100.1"], settings.trusted_proxies({})) == "10.2.3.4"


def test_a_malformed_list_stops_the_gateway_in_one_line():
    with pytest.raises(SettingError, match="^gateway: set TRUSTED_PROXIES to addresses or networks"):
        settings.trusted_proxies({"TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"})

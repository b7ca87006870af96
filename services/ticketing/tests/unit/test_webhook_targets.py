"""Where a webhook may send (no SSRF): which addresses and names are refused,
what the operator's allow-list lets through, and that a URL with a user name
or password is refused. Without nameko or a network."""
from ipaddress import ip_address

import pytest
from marshmallow import ValidationError

from ticketing.contract import WebhookCreateSchema
from ticketing.webhooks.rules import AllowList, shown_url, target_problem

NOTHING = AllowList.parse("")


def problem(host, *addresses, allowed=NOTHING):
    return target_problem(host, [ip_address(address) for address in addresses], allowed)


@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("10.0.0.7", "private"), ("172.16.4.1", "private"), ("192.168.1.20", "private"), ("fd12:3456::1", "private"),
    ("169.254.1.1", "link-local"), ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"), ("239.1.2.3", "multicast"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("240.0.0.1", "reserved"), ("255.255.255.255", "reserved"),
    ("100.64.0.1", "non-public"), ("192.0.2.1", "private"), ("198.18.0.1", "private"),
    ("169.254.169.254", "cloud metadata"), ("fd00:ec2::254", "cloud metadata"),
    ("100.100.100.200", "cloud metadata"), ("168.63.129.16", "cloud metadata"), ("169.254.170.2", "cloud metadata"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "cloud metadata"),   # IPv4 inside IPv6
    ("2002:7f00:1::", "loopback"), ("64:ff9b::a9fe:a9fe", "cloud metadata"),        # 6to4 and NAT64 of them
])
def test_an_address_that_is_not_public_is_refused_by_kind(address, kind):
    article = "an" if kind[0] in "aeiou" else "a"
    assert problem("hooks.example.com", address) == (
        f"hooks.example.com is {ip_address(address)}, {article} {kind} address")


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
                                     "2002:5db8:d70e::1", "64:ff9b::808:808"])
def test_a_public_address_is_allowed(address):
    assert problem("hooks.example.com", address) is None


def test_a_literal_address_is_named_once():
    assert problem("127.0.0.1", "127.0.0.1") == "127.0.0.1 is a loopback address"


def test_one_refused_address_among_public_ones_refuses_the_name():
    assert problem("hooks.example.com", "93.184.215.14", "10.1.2.3") == (
        "hooks.example.com is 10.1.2.3, a private address")


@pytest.mark.parametrize("host", ["metadata.google.internal", "METADATA.google.internal.", "metadata.goog",
                                  "metadata", "instance-data", "instance-data.ec2.internal"])
def test_a_cloud_metadata_name_is_refused_whatever_it_resolves_to(host):
    assert problem(host, "93.184.215.14") == f"{host} is a cloud metadata service"


def test_the_allow_list_lets_named_hosts_and_networks_through():
    allowed = AllowList.parse("127.0.0.1, 10.20.0.0/16 hooks.internal.example,[fd00::1]")
    assert problem("127.0.0.1", "127.0.0.1", allowed=allowed) is None
    assert problem("crm.corp", "10.20.3.4", allowed=allowed) is None
    assert problem("hooks.internal.example", "192.168.9.9", allowed=allowed) is None   # the name, whatever address
    assert problem("Hooks.Internal.Example.", "192.168.9.9", allowed=allowed) is None
    assert problem("fd00::1", "fd00::1", allowed=allowed) is None
    assert problem("crm.corp", "10.21.3.4", allowed=allowed) == "crm.corp is 10.21.3.4, a private address"
    assert problem("127.0.0.2", "127.0.0.2", allowed=allowed) == "127.0.0.2 is a loopback address"


def test_a_metadata_address_needs_naming_a_network_around_it_is_not_enough():
    assert problem("169.254.169.254", "169.254.169.254", allowed=AllowList.parse("169.254.0.0/16")) == (
        "169.254.169.254 is a cloud metadata address")
    assert problem("169.254.169.254", "169.254.169.254", allowed=AllowList.parse("169.254.169.254")) is None
    assert problem("metadata.google.internal", "169.254.169.254",
                   allowed=AllowList.parse("metadata.google.internal")) is None


@pytest.mark.parametrize("setting", ["10.0.0.0/33", "hooks..example", "http://hooks.example", "*.example.com"])
def test_an_allow_list_entry_that_is_neither_a_host_nor_a_network_is_an_error(setting):
    with pytest.raises(ValueError, match="WEBHOOK_ALLOWED_HOSTS"):
        AllowList.parse(setting)


@pytest.mark.parametrize("url", [
    "https://user:secret@crm.example.com/hook", "https://token@crm.example.com/hook",
    "https://:secret@crm.example.com/hook", "http://admin:admin@127.0.0.1:9000/hook",
])
def test_a_url_with_a_user_name_or_password_is_refused(url):
    with pytest.raises(ValidationError) as raised:
        WebhookCreateSchema().load({"url": url, "event_types": ["*"]})
    assert raised.value.messages == {"url": ["must not carry a user name or password"]}


@pytest.mark.parametrize("url, shown", [
    ("https://user:secret@crm.example.com:8443/hook?token=abc#x", "https://crm.example.com:8443/hook"),
    ("https://crm.example.com/hook", "https://crm.example.com/hook"),
    ("http://[::1]:9000/in?key=1", "http://[::1]:9000/in"),
])
def test_a_url_is_logged_without_credentials_or_query(url, shown):
    assert shown_url(url) == shown

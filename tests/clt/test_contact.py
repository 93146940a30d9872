"""The trust's contact with its phone numbers and e-mail addresses as links a phone taps."""

from __future__ import annotations

import pytest

from clt.contact import contact_html, contact_parts


@pytest.mark.parametrize(
    ("written", "href"),
    [
        ("(601) 555-0142", "tel:+16015550142"),
        ("601-555-0142", "tel:+16015550142"),
        ("601.555.0142", "tel:+16015550142"),
        ("+1 601 555 0142", "tel:+16015550142"),
        ("info@example.org", "mailto:info@example.org"),
    ],
)
def test_a_number_or_address_as_people_write_it_is_a_link(written, href):
    assert contact_parts(f"Call {written} today") == [
        {"text": "Call "}, {"text": written, "href": href}, {"text": " today"}
    ]


@pytest.mark.parametrize(
    ("written", "url"),
    [
        ("Apply at https://example.org/apply.", "https://example.org/apply"),
        ("(form: http://example.org/a?b=1&c=2)", "http://example.org/a?b=1&c=2"),
        ("https://example.org/homes/, or call", "https://example.org/homes/"),
    ],
)
def test_a_web_address_is_a_link_without_the_sentence_s_punctuation(written, url):
    links = [part for part in contact_parts(written) if "href" in part]
    assert links == [{"text": url, "href": url}]
    assert "".join(part["text"] for part in contact_parts(written)) == written


def test_only_web_addresses_become_page_links():
    assert all("href" not in part for part in contact_parts("javascript:alert(1) ftp://x.org"))


def test_a_street_address_and_zip_are_left_as_words():
    text = "Lumumba Center, 939 W. Capitol St., Jackson MS 39203-1234"
    assert contact_parts(text) == [{"text": text}]


def test_the_html_is_escaped_around_and_inside_the_links():
    assert contact_html("<b>Us</b> & co: a@b.org") == (
        '&lt;b&gt;Us&lt;/b&gt; &amp; co: <a href="mailto:a@b.org">a@b.org</a>'
    )


@pytest.mark.django_db
def test_every_page_links_the_trusts_phone(client, settings):
    settings.CLT_CONTACT = "Call (601) 555-0142"
    page = client.get("/").content.decode()
    assert 'Contact: Call <a href="tel:+16015550142">(601) 555-0142</a>' in page

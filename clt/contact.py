"""The trust's contact (CLT_CONTACT) as a resident on a phone uses it: a phone number to tap
and call, an e-mail address to tap and write to, a web page to open (an application form,
CLT_HOW_TO_APPLY).

The setting is a sentence ("Lumumba Center, 939 W. Capitol St. Call (601) 555-0142 or write
info@example.org"), shown on every page, in the map's popups and legend. As plain text, a
phone's browser made none of it a link (Android's Chrome does not), and a resident copied the
number by hand. One rule splits it (`contact_parts`), for the pages (`contact_html`) and the
map's script (its config), so the two never disagree.
"""

from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
# A North American number as people write it: (601) 555-0142, 601-555-0142, 601.555.0142,
# +1 601 555 0142. Not inside a longer run of digits (a ZIP+4, a parcel number).
PHONE = r"(?<![\w-])(?:\+?1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])"
# A web address as written in a sentence: its closing full stop or bracket is the sentence's.
WEB = r"https?://[^\s<>\"']*[^\s<>\"'.,;:!?)]"
CONTACT_LINK = re.compile(f"(?P<web>{WEB})|(?P<email>{EMAIL})|(?P<phone>{PHONE})")


def contact_parts(text: str) -> list[dict[str, str]]:
    """`text` in runs: {"text": ...} for words, {"text": ..., "href": "tel:+16015550142"} or
    {"text": ..., "href": "mailto:..."} for what a phone can call or write to, and
    {"text": ..., "href": "https://..."} for a page to open."""
    parts: list[dict[str, str]] = []
    at = 0
    for found in CONTACT_LINK.finditer(text):
        if found.start() > at:
            parts.append({"text": text[at : found.start()]})
        shown = found.group()
        if found.group("web"):
            parts.append({"text": shown, "href": shown})
        elif found.group("email"):
            parts.append({"text": shown, "href": f"mailto:{shown}"})
        else:
            digits = re.sub(r"\D", "", shown)
            country = "1" if len(digits) == 10 else ""  # the North American plan's
            parts.append({"text": shown, "href": f"tel:+{country}{digits}"})
        at = found.end()
    if at < len(text):
        parts.append({"text": text[at:]})
    return parts


def contact_html(text: str) -> SafeString:
    """`text` as HTML, escaped, its phone numbers, e-mail and web addresses links."""
    return mark_safe(  # noqa: S308 - every run is escaped here
        "".join(
            f'<a href="{escape(part["href"])}">{escape(part["text"])}</a>'
            if "href" in part
            else escape(part["text"])
            for part in contact_parts(text)
        )
    )

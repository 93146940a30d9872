"""Template context every page needs: the trust's public name and contact, and how to apply."""

from django.conf import settings
from django.http import HttpRequest

from clt.contact import contact_html


def site(request: HttpRequest) -> dict[str, str]:
    """The contact with its phone numbers and e-mail addresses as links (`clt.contact`)."""
    return {
        "clt_name": settings.CLT_NAME,
        "clt_contact": contact_html(settings.CLT_CONTACT),
        "clt_how_to_apply": contact_html(settings.CLT_HOW_TO_APPLY),
    }

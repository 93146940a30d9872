"""Template context every page needs: the trust's public name and contact."""

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, str]:
    return {"clt_name": settings.CLT_NAME, "clt_contact": settings.CLT_CONTACT}

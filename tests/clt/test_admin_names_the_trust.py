"""The staff pages name the trust (CLT_NAME), in their header and the browser's tab, not a
generic "Land trust registry" (QA: a second trust adopting clt, finding 9)."""

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def test_the_admins_header_and_tab_name_the_trust(editor):
    html = editor.get("/admin/").content.decode()
    assert settings.CLT_NAME == "Fannie Lou Hamer Community Land Trust (demo)"
    assert f'<a href="/admin/">{settings.CLT_NAME} — registry</a>' in html
    assert f"<title>Site administration | {settings.CLT_NAME} — staff</title>" in html

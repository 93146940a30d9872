"""Every control in the admin's tabular inlines has an accessible name.

Django's tabular inline labels its fields only in the column headers, which name no input: axe
found 48 unnamed controls on a lease's page (a screen reader said "spin button, 25.00") and six
empty column headers. `clt/templates/admin/edit_inline/tabular.html` names each one."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from leases.models import SourceDocument
from tests import factories
from tests.adminpages import change_url

pytestmark = pytest.mark.django_db

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
CONTROLS = {"input", "select", "textarea"}
# The prefixes of the lease page's tabular inlines (its resales are a stacked inline).
LEASE_TABULAR_INLINES = {
    "fee_changes", "monitoring", "appraisals", "improvements", "repairs", "sources"
}  # fmt: skip


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        """The node's text, as an accessible name takes it (visually hidden text included)."""
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return " ".join(" ".join(parts).split())

    def walk(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()


class Tree(HTMLParser):
    """An HTML page as a tree of `Node`s (the stdlib parser builds none)."""

    def __init__(self, page: str):
        super().__init__()
        self.root = Node("document", {})
        self.open = [self.root]
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.open[-1].children.append(node)
        if tag not in VOID:
            self.open.append(node)

    def handle_endtag(self, tag):
        if tag in (node.tag for node in self.open[1:]):
            while self.open.pop().tag != tag:
                pass

    def handle_data(self, data):
        self.open[-1].children.append(data)


def accessible_names(page: str) -> dict[str, str]:
    """Each form control in the page's tabular inlines, by name, with its accessible name:
    from aria-labelledby, aria-label or a <label for> its id ("" when it has none)."""
    nodes = list(Tree(page).root.walk())
    by_id = {node.attrs["id"]: node for node in nodes if "id" in node.attrs}
    labels = {node.attrs.get("for"): node.text() for node in nodes if node.tag == "label"}
    names = {}
    for control in controls_in_tabular_inlines(nodes):
        attrs = control.attrs
        ids = attrs.get("aria-labelledby", "").split()
        labelled_by = [by_id[i].text() for i in ids if i in by_id]
        names[attrs["name"]] = (
            " ".join(labelled_by).strip()
            or attrs.get("aria-label", "").strip()
            or labels.get(attrs.get("id"), "")
        )
    return names


def controls_in_tabular_inlines(nodes: list[Node]) -> list[Node]:
    """The inputs a user fills in the tabular inlines (empty-form template rows included)."""
    return [
        control
        for group in nodes
        if group.attrs.get("data-inline-type") == "tabular"
        for control in group.walk()
        if control.tag in CONTROLS and control.attrs.get("type") != "hidden"
    ]


def empty_column_headers(page: str) -> list[str]:
    """The <th>s of the tabular inlines' tables with no text, by their class."""
    return [
        node.attrs.get("class", "(no class)")
        for group in Tree(page).root.walk()
        if group.attrs.get("data-inline-type") == "tabular"
        for node in group.walk()
        if node.tag == "th" and not node.text()
    ]


@pytest.fixture
def records():
    """One record of every model, with a row in each of the lease's tabular inlines."""
    made = factories.registry()
    lease = made["groundlease"]
    SourceDocument.objects.create(kind="recorded_lease", reference="Book 7001 Page 3", lease=lease)
    return made


def test_every_field_of_a_lease_pages_inlines_is_named(admin_client, records):
    # A superuser, who may delete every row: an editor has no Delete box for a fee change.
    page = admin_client.get(change_url(records["groundlease"])).content.decode()
    names = accessible_names(page)

    assert {name.split("-")[0] for name in names} == LEASE_TABULAR_INLINES
    assert {name: said for name, said in names.items() if not said} == {}
    assert {name: said for name, said in names.items() if name.startswith("fee_changes-0-")} == {
        "fee_changes-0-effective_on": "Effective on",
        "fee_changes-0-fee_monthly": "Fee monthly",
        "fee_changes-0-reason": "Reason",
        "fee_changes-0-DELETE": "Delete lease fee change 1",
    }
    assert names["monitoring-0-type"] == "Type"  # a select, which axe found unnamed
    assert empty_column_headers(page) == []


@pytest.mark.parametrize("record", ["holding", "party", "indexseries", "conservationeasement"])
def test_every_field_of_the_other_tabular_inlines_is_named(editor, records, record):
    page = editor.get(change_url(records[record])).content.decode()
    names = accessible_names(page)

    assert names  # the page has a tabular inline with a row
    assert {name: said for name, said in names.items() if not said} == {}
    assert empty_column_headers(page) == []


@pytest.mark.parametrize("record", ["groundlease", "holding"])
def test_every_inline_row_is_titled_by_what_it_records(admin_client, records, record):
    # Sighted staff read each row's title: "Appraisal object (1)" said nothing.
    page = admin_client.get(change_url(records[record])).content.decode()
    assert "object (" not in page
    if record == "groundlease":
        fee, appraisal = records["leasefeechange"], records["appraisal"]
        assert f"${fee.fee_monthly:,.2f} a month from {fee.effective_on}" in page
        assert f"Appraisal on {appraisal.on} (" in page
        assert f"{records['capitalimprovement'].description}, approved " in page
        assert f"{records['repairdeduction'].description}, assessed " in page
    else:
        assert "In the holding from " in page

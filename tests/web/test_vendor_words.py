"""Issue 29, words that mislead: the per-client credentials help names each vendor's own kind of account."""

import re

import pytest


@pytest.mark.parametrize(("slug", "words", "other"), [
    ("merit", "a separate Merit Aktiva company with its own credentials", "Directo"),
    ("directo", "a separate Directo database with its own credentials", "Merit"),
])
def test_per_client_credentials_help_names_the_vendors_own_account_kind(owner, in_app, slug, words, other):
    from hub.models import Client

    owner.post(f"/settings/apps/{slug}/enable")
    with in_app():
        client_id = Client.query.order_by(Client.id).first().id
    page = owner.text(f"/clients/{client_id}/integration?vendor={slug}")
    section = re.search(r'<section aria-labelledby="own-creds-title">.*?</section>', page, re.S).group(0)
    assert words in section
    assert other not in section


def test_a_vendor_that_names_no_account_kind_says_account():
    from hub.types import VendorInfo

    assert VendorInfo(slug="x", name="X", regions=("EE",)).account_kind == "account"

"""Property-based tests (hypothesis) on the pages' forms with side effects: whatever is typed, the answer is the
saved thing exactly as typed, or a 422 page saying what to fix — and a refused form writes nothing. (The other
input paths: tests/test_input_properties.py.)"""

from hypothesis import given
from hypothesis import strategies as st

from hub import clients
from hub.models import Client, Firm
from tests.test_input_properties import BOUNDED, SPICY

FORM_TEXT = st.one_of(st.text(max_size=60), SPICY, st.just("x" * 300))


@BOUNDED
@given(values=st.fixed_dictionaries({}, optional={k: FORM_TEXT for k in clients.DETAIL_FIELDS}))
def test_any_new_client_form_is_saved_as_typed_or_refused_in_words(owner, in_app, values):
    response = owner.post("/clients/new", values, token_from="/clients/new")
    if any("\x00" in v for v in values.values()):  # no text can hold it (PostgreSQL): refused before the form
        assert response.status_code == 400 and "NUL character" in response.get_data(as_text=True)
        return
    assert response.status_code in (302, 422), response.status_code
    if response.status_code == 302:
        with in_app():
            client = Client.query.order_by(Client.id.desc()).first()
            assert client.name == values["name"].strip()
            if (values.get("reg_code") or "").strip():
                assert client.reg_code == values["reg_code"].strip()
    else:
        assert "error" in response.get_data(as_text=True).lower()


@BOUNDED
@given(values=st.dictionaries(st.sampled_from(["task_title", "import_day", "topic_id", "new_topic", "map_documents",
                                               "new_documents", "map_entries"]),
                              st.one_of(FORM_TEXT, st.just("__new__"), st.integers(-5, 40).map(str)), max_size=7))
def test_a_refused_settings_form_creates_nothing(owner, in_app, values, hub_registry):
    from hub import connections
    from hub.models import CustomField, Integration, Topic

    with in_app():
        firm_id = Firm.query.first().id
        integration = Integration.query.filter_by(firm_id=firm_id, vendor="example").one_or_none()
        if integration is None:
            integration = connections.get_or_create_integration(firm_id, "example")
            connections.set_enabled(integration, True)
        before = (CustomField.query.count(), Topic.query.count())
    response = owner.post("/settings/apps/example/settings", values, token_from="/settings/apps/example/settings")
    assert response.status_code in (302, 400, 422), response.status_code
    if response.status_code == 422:
        with in_app():
            assert (CustomField.query.count(), Topic.query.count()) == before

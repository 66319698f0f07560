"""A blank optional field on the pages means "none", as a null or an absent field does in the API (issue 30)."""

import marshmallow
from marshmallow import fields
from werkzeug.datastructures import MultiDict

from hub.web import forms


class Settings(marshmallow.Schema):
    layout = fields.Integer(metadata={"label": "Invoice layout number (optional)"})
    limit = fields.Integer(allow_none=True)
    note = fields.String()
    company = fields.Integer(required=True)


def test_a_blank_optional_number_is_none_or_absent_and_loads():
    data = forms.submitted(Settings, MultiDict({"layout": "", "limit": " ", "note": "", "company": "7"}))
    assert data == {"limit": None, "note": "", "company": "7"}
    assert Settings().load(data) == {"limit": None, "note": "", "company": 7}


def test_a_blank_required_number_is_still_refused_in_words():
    data = forms.submitted(Settings, MultiDict({"company": ""}))
    assert data == {"company": ""}

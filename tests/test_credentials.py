"""Encryption at rest, key rotation, masking, and the schema helpers."""

import logging

import marshmallow
import pytest
from marshmallow import fields

from hub import credentials as creds
from hub import redaction
from hub.vault import Vault, VaultError


class Schema(marshmallow.Schema):
    api_id = fields.String(required=True, metadata={"label": "API ID"})
    api_key = fields.String(required=True, metadata={"label": "API key", "secret": True})


def test_encrypt_round_trip_and_ciphertext_hides_value():
    vault = Vault([Vault.generate_key()])
    token = vault.encrypt({"api_key": "s3cret-value"})
    assert "s3cret-value" not in token
    assert vault.decrypt(token) == {"api_key": "s3cret-value"}


def test_key_rotation():
    old, new = Vault.generate_key(), Vault.generate_key()
    token = Vault([old]).encrypt({"api_key": "rotate-me-1"})
    both = Vault([new, old])
    assert both.decrypt(token) == {"api_key": "rotate-me-1"}
    rotated = both.rotate(token)
    assert Vault([new]).decrypt(rotated) == {"api_key": "rotate-me-1"}
    with pytest.raises(VaultError, match="cannot be decrypted"):
        Vault([old]).decrypt(rotated)


def test_missing_key_is_a_clear_error():
    with pytest.raises(VaultError, match="HUB_SECRET_KEYS"):
        Vault([])


def test_decrypted_secrets_are_masked_in_logs(caplog):
    redaction.install()
    vault = Vault([Vault.generate_key()])
    vault.decrypt(vault.encrypt({"api_key": "masked-in-logs-42"}))
    caplog.set_level(logging.INFO)
    logging.getLogger("hub.test").info("sending key %s", "masked-in-logs-42")
    try:
        raise RuntimeError("failed with masked-in-logs-42")
    except RuntimeError:
        logging.getLogger("hub.test").exception("boom")
    assert "masked-in-logs-42" not in caplog.text
    assert "[redacted]" in caplog.text


def test_whitespace_is_stripped_before_validation():
    assert creds.validate(Schema, {"api_id": " id-1\n", "api_key": "\tkey "}) == {"api_id": "id-1", "api_key": "key"}


def test_blank_secret_keeps_stored_value_and_fields_are_validated():
    stored = {"api_id": "id-1", "api_key": "stored-key"}
    merged = creds.merge_for_edit(Schema, {"api_id": "id-2", "api_key": "  "}, stored)
    assert merged == {"api_id": "id-2", "api_key": "stored-key"}
    with pytest.raises(marshmallow.ValidationError) as caught:
        creds.validate(Schema, creds.merge_for_edit(Schema, {"api_id": "x", "api_key": ""}, None))
    assert "api_key" in caught.value.messages


def test_describe_never_shows_secrets():
    public, secret = creds.split(Schema, {"api_id": "id-1", "api_key": "hidden"})
    assert creds.describe(Schema, public, secret) == {"api_id": "id-1", "api_key": {"set": True}}


def test_secret_files_are_created_once_when_processes_race(tmp_path):
    import threading

    from hub.vault import load_or_create_keys

    results, barrier = [], threading.Barrier(8)

    def start():
        barrier.wait()
        results.append(tuple(load_or_create_keys(str(tmp_path))))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and len(results[0]) == 1, "every process sees the same single key"
    assert (tmp_path / "secret.keys").stat().st_mode & 0o777 == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary files left"

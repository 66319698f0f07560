"""Masking secrets by value, wherever they would be written.

Every secret the hub decrypts (or reads from operator settings) is registered here. A log-record
factory replaces each registered value in every log message and traceback with ``[redacted]``, so
a secret cannot reach a log line whatever handler (file, console, pytest's caplog) writes it.
Error messages shown to admins go through :func:`mask` too, and everything a vendor sent back that the
hub stores (a run's error and result, an export's error, a connection's last error) through
:func:`mask_structure`.

The rule: a secret is masked where it stands as a **whole token** — not inside a longer word or code (a
password ``wrong`` does not turn "the password is wrong" into "the password is [redacted]", nor a key
``abc123def`` part of ``xabc123defx``) — and only values of at least :data:`MIN_LENGTH` characters are
secrets to mask (shorter values would mask ordinary words).
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

MASK = "[redacted]"
#: Values shorter than this are not masked: too short to be a credential, too likely to be a word.
MIN_LENGTH = 8
#: A secret is masked only where neither neighbour continues it (letters, digits, ``_``, ``-``).
_TOKEN_CHAR = r"[\w-]"

_lock = threading.Lock()
_values: set[str] = set()
_pattern: re.Pattern[str] | None = None
_installed = False


def register_secret(value: object) -> None:
    """Remember a secret value so that it is masked from now on (in this process)."""
    global _pattern
    if not isinstance(value, str):
        return
    candidates = {v for v in (value, value.strip()) if len(v) >= MIN_LENGTH}
    with _lock:
        if candidates - _values:
            _values.update(candidates)
            _pattern = None


def register_secrets(values: object) -> None:
    for value in values if isinstance(values, (list, tuple, set)) else [values]:
        register_secret(value)


def _compiled() -> re.Pattern[str] | None:
    global _pattern
    with _lock:
        if _pattern is None and _values:
            alternatives = "|".join(re.escape(v) for v in sorted(_values, key=len, reverse=True))
            _pattern = re.compile(f"(?<!{_TOKEN_CHAR})(?:{alternatives})(?!{_TOKEN_CHAR})")
        return _pattern


def mask(text: str) -> str:
    """``text`` with every registered secret that stands as a whole token replaced by ``[redacted]``."""
    if not text or len(text) < MIN_LENGTH or not _values:
        return text
    if _pattern is None and not any(v in text for v in tuple(_values)):
        # no registered value occurs in it at all: nothing to mask, and no need to (re)build the pattern — which a
        # worker would otherwise do after every job (each job registers its account's secrets; the pattern's size
        # grows with the number of accounts the process has seen)
        return text
    pattern = _compiled()
    return pattern.sub(MASK, text) if pattern is not None else text


def mask_structure(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, strings, numbers) with every string in it masked, keys included;
    for anything a vendor sent back before it is stored (e.g. ``VendorRejected.field_messages``)."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {mask_structure(k): mask_structure(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_structure(v) for v in value]
    return value


def install() -> None:
    """Install the masking log-record factory (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _values:
            try:
                message = record.getMessage()
            except Exception:  # a broken format string: leave it to logging to report
                return record
            record.msg, record.args = mask(message), None
            if record.exc_info:
                record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
    _installed = True

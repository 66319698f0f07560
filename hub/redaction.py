"""Masking secrets by value, wherever they would be written.

Every secret the hub decrypts (or reads from operator settings) is registered here. A log-record
factory replaces each registered value in every log message and traceback with ``[redacted]``, so
a secret cannot reach a log line whatever handler (file, console, pytest's caplog) writes it.
Error messages shown to admins go through :func:`mask` too.
"""

from __future__ import annotations

import logging
import threading

MASK = "[redacted]"
_MIN_LENGTH = 4  # shorter values would mask ordinary words

_lock = threading.Lock()
_values: set[str] = set()
_installed = False


def register_secret(value: object) -> None:
    """Remember a secret value so that it is masked from now on (in this process)."""
    if isinstance(value, str) and len(value.strip()) >= _MIN_LENGTH:
        with _lock:
            _values.add(value)
            stripped = value.strip()
            if stripped != value:
                _values.add(stripped)


def register_secrets(values: object) -> None:
    for value in values if isinstance(values, (list, tuple, set)) else [values]:
        register_secret(value)


def mask(text: str) -> str:
    """``text`` with every registered secret replaced by ``[redacted]``."""
    if not text or not _values:
        return text
    with _lock:
        values = sorted(_values, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    return text


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

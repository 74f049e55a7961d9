"""Structured logs: one JSON object per line, with secrets masked before they are written."""

from __future__ import annotations

import logging
import re
import sys

import orjson

_SECRET = re.compile(
    r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic)\s+)[^\s\"',]+"
    r"|((?:password|secret|token)[\"']?\s*[:=]\s*[\"']?)[^\s\"',&]+"
    r"|(://[^:/@\s]+:)[^@/\s]+(@)"
)


def mask(text: str) -> str:
    """Mask credentials in free text: Authorization headers, password/secret/token values, URLs."""

    def repl(m: re.Match[str]) -> str:
        if m.group(1):
            return m.group(1) + "****"
        if m.group(2):
            return m.group(2) + "****"
        return f"{m.group(3)}****{m.group(4)}"

    return _SECRET.sub(repl, text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": mask(record.getMessage()),
        }
        for key, value in record.__dict__.get("fields", {}).items():
            entry[key] = mask(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = mask(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "dbos"):
        logging.getLogger(noisy).setLevel("WARNING")

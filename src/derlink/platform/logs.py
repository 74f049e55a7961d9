"""Structured logs: one JSON object per line on standard error, with secrets masked.

:func:`configure` makes every route to standard error go through :class:`JsonFormatter`:
derlink's loggers and every library's (DBOS brings its own handler and formatter; it is told
to propagate instead), Python warnings (``logging.captureWarnings``), uncaught exceptions in the
main program, in threads and in finalizers (their traceback in the ``exc`` field), and, as the
last net, any text a library writes to ``sys.stderr`` itself (one JSON line per line of text,
logger ``stderr``).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import sys
import threading
from types import TracebackType
from typing import Any, TextIO

import orjson

_SECRET = re.compile(
    # ``Bearer <token>``, anywhere: the token never contains quotes, commas or backslashes.
    r"(\bbearer\s+)[A-Za-z0-9._~+/=-]+"
    # ``Basic <base64>``: masked when it decodes to ``user:password`` (the word alone is English).
    r"|(\bbasic\s+)([A-Za-z0-9+/]+={0,2})(?![A-Za-z0-9+/=])"
    # ``password=…``, ``"secret": "…"``, ``aws_secret_access_key: …``, ``SecretAccessKey``;
    # not a JSON object, list or literal.
    r"|([\w-]*(?:password|passwd|secret|token)[\w-]*[\"']?\s*[:=]\s*[\"']?)"
    r"(?![\[{]|(?:true|false|null)\b)[^\s\"'\\,&]+"
    # The password of a URL's user info, "/" and "+" included (S3 secret keys hold both).
    r"|(://[^:/@\s\"'\\]+:)[^@\s\"'\\?#]+(@)",
    re.IGNORECASE,
)


def _is_basic_credential(value: str) -> bool:
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded


def mask(text: str) -> str:
    """Mask credentials in free text: bearer and basic credentials, password/secret/token
    values and the passwords of URLs. JSON text stays valid JSON."""

    def repl(m: re.Match[str]) -> str:
        if m.group(1):
            return m.group(1) + "****"
        if m.group(2):
            return m.group(2) + "****" if _is_basic_credential(m.group(3)) else m.group(0)
        if m.group(4):
            return m.group(4) + "****"
        return f"{m.group(5)}****{m.group(6)}"

    return _SECRET.sub(repl, text)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": mask(record.getMessage()),
        }
        for key, value in record.__dict__.get("fields", {}).items():
            entry[key] = _masked(value)
        if record.exc_info:
            entry["exc"] = mask(self.formatException(record.exc_info))
        elif record.stack_info:
            entry["exc"] = mask(self.formatStack(record.stack_info))
        return orjson.dumps(entry, default=str).decode()


class _JsonLines:
    """``sys.stderr`` for code that writes to it directly: each line of text it is given
    becomes one JSON line on the real standard error."""

    def __init__(self, target: TextIO) -> None:
        self.target = target
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            *lines, self._pending = self._pending.split("\n")
            for line in lines:
                self._emit(line)
        return len(text)

    def _emit(self, line: str) -> None:
        if not line.strip():
            return
        record = logging.LogRecord("stderr", logging.WARNING, "", 0, line.rstrip(), None, None)
        self.target.write(JsonFormatter().format(record) + "\n")
        self.target.flush()

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self._emit(self._pending)
                self._pending = ""
        self.target.flush()

    def __getattr__(self, name: str) -> Any:  # fileno, isatty, encoding …
        return getattr(self.target, name)


#: The loggers of libraries that install a handler of their own when they start (DBOS does
#: so unless its logger already has one): given a null handler, they propagate to ours.
_OWN_HANDLERS = ("dbos",)

_uncaught = logging.getLogger("derlink.uncaught")


def _log_uncaught(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    if issubclass(kind, KeyboardInterrupt):
        _uncaught.info("interrupted")
        return
    _uncaught.critical("uncaught exception", exc_info=(kind, value, tb))


def _log_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    name = args.thread.name if args.thread is not None else "?"
    _uncaught.error(
        "uncaught exception in thread %s",
        name,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )


def _log_unraisable(args: Any) -> None:
    value = args.exc_value
    exc_info = (args.exc_type, value, args.exc_traceback) if value is not None else None
    _uncaught.error("%s: %r", args.err_msg or "exception ignored", args.object, exc_info=exc_info)


def configure(level: str = "INFO") -> None:
    """Send every log, warning and uncaught exception to standard error as JSON lines."""
    stream = sys.stderr.target if isinstance(sys.stderr, _JsonLines) else sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "dbos"):
        logging.getLogger(noisy).setLevel("WARNING")
    # Libraries' loggers that write to a stream of their own now propagate to ours.
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            for own in [h for h in logger.handlers if type(h) is logging.StreamHandler]:
                logger.removeHandler(own)
                logger.propagate = True
    for name in _OWN_HANDLERS:
        logger = logging.getLogger(name)
        logger.propagate = True
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread
    sys.unraisablehook = _log_unraisable
    sys.stderr = _JsonLines(stream)

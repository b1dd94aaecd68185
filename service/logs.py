"""JSON logs with a request id, and nothing of the message's content.

Log records carry fixed fields chosen by the code (route, status, timings, verdict, counts),
never a request body, subject, attachment or detected value. Exception records keep the
exception type and the stack frames but drop the exception message, which could quote input.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import traceback
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

LOGGER_NAME = "misdirect.service"
logger = logging.getLogger(LOGGER_NAME)

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is emitted.
_STD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",
    "taskName",
}


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request being served (contextvar)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
        }
        for key, value in record.__dict__.items():
            if key not in _STD_ATTRS and key not in out:
                out[key] = value if isinstance(value, (int, float, bool, str, type(None))) else str(value)
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, _exc, tb = record.exc_info
            # The type and where, not the message: a message may quote the input.
            out["exc_type"] = exc_type.__name__
            out["stack"] = "".join(traceback.format_tb(tb))[-4000:]
        return json.dumps(out, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    """Send ``misdirect.*`` and uvicorn's error log to stderr as JSON (idempotent)."""
    handler_name = "misdirect-json"
    root_pkg = logging.getLogger("misdirect")
    if any(h.get_name() == handler_name for h in root_pkg.handlers):
        root_pkg.setLevel(level.upper())
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(handler_name)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    for name in ("misdirect", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.addHandler(handler)
        lg.setLevel(level.upper())
        lg.propagate = False
    # ``model.*`` loggers keep propagating to the root (other tests capture them there).
    # Our middleware logs every request; uvicorn's access log would only duplicate it.
    logging.getLogger("uvicorn.access").disabled = True

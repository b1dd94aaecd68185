"""Error responses: clear 4xx messages in the configured language, never the input echoed.

Pydantic's error objects carry the offending ``input`` (which could be a message body); the
handlers here keep only location, type and message.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.i18n import PYDANTIC_FR, message
from service.logs import logger, request_id_var


class ApiError(Exception):
    """An error with a status code and a message code of :mod:`service.i18n`."""

    def __init__(
        self, status: int, code: str, *, kind: str = "validation", headers: dict | None = None,
        **params: object,
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.kind = kind
        self.headers = headers
        self.params = params


def _loc(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


def _lang(request: Request) -> str:
    return getattr(request.app.state, "language", "fr")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        request.app.state.metrics.errors.labels(exc.kind).inc()
        return JSONResponse(
            {"detail": message(exc.code, _lang(request), **exc.params), "code": exc.code},
            status_code=exc.status,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        request.app.state.metrics.errors.labels("validation").inc()
        lang = _lang(request)
        errors = []
        for err in exc.errors():
            etype = str(err.get("type", "value_error"))
            text = PYDANTIC_FR.get(etype) if lang == "fr" else None
            if etype == "value_error":
                # Our own validators' messages (no input echoed by design).
                text = str(err.get("msg", "")).removeprefix("Value error, ")
            errors.append(
                {"loc": [str(p) for p in err.get("loc", ())], "type": etype,
                 "msg": text or str(err.get("msg", etype))}
            )
        if any(e["type"] == "json_invalid" for e in errors):
            return JSONResponse(
                {"detail": message("invalid_json", lang), "code": "invalid_json"}, status_code=400
            )
        details = "; ".join(f"{_loc(e['loc'])} : {e['msg']}" for e in errors[:10])
        return JSONResponse(
            {"detail": message("invalid_request", lang, details=details),
             "code": "invalid_request", "errors": errors[:50]},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        lang = _lang(request)
        if exc.status_code == 404:
            detail = message("not_found", lang)
        elif exc.status_code == 405:
            detail = message("method_not_allowed", lang)
        else:
            detail = exc.detail
        return JSONResponse(
            {"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        request.app.state.metrics.errors.labels("internal").inc()
        # exc_info: the JSON formatter keeps the type and stack, drops the message.
        logger.error("internal error", exc_info=exc)
        return JSONResponse(
            {"detail": message("internal", _lang(request), request_id=request_id_var.get())},
            status_code=500,
        )

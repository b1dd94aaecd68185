"""Serves the Outlook add-in from the service itself, configured from the settings.

``mount_addin(app, settings)`` adds:

- ``/addin/…``: the files of ``addin/src`` (commands.html, taskpane.html, icons, …);
- ``/addin/config.js``: the runtime configuration (absolute API base URL, key, fail mode, time
  budget, send mode) as a tiny script;
- ``/addin/launchevent.js``: the handler with that same configuration prepended, because classic
  Outlook on Windows loads this one file alone (no HTML page, so no config.js);
- ``/addin/manifest.xml``, ``/addin/manifest.json`` and ``/addin/misdirect-addin.zip`` (the
  unified manifest with its two icons, for upload): the manifests rendered for this base URL;
- ``/.well-known/microsoft-officeaddins-allowed.json``: lists launchevent.js so the classic
  Windows runtime may make CORS requests.

None of these need an API key: Outlook fetches them anonymously. The key in config.js is
therefore public; it identifies an installation, it does not protect anything.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import zipfile
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from model.settings import Settings

ADDIN_DIR = Path(__file__).resolve().parents[1] / "addin"
SEND_MODE_JSON = {"PromptUser": "promptUser", "SoftBlock": "softBlock", "Block": "block"}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_NO_CACHE = {"Cache-Control": "no-cache"}


def clean_base_url(url: str) -> str:
    """``scheme://host[:port][/prefix]`` without a trailing slash; refuses anything else."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"not a base URL: {url!r}")
    if any(ch in url for ch in "\"'<>{} \\"):
        raise ValueError(f"unexpected character in base URL: {url!r}")
    return url


def base_url_for(request: Request, settings: Settings) -> str:
    """The public base URL: the setting if given, else the origin this request came to."""
    configured = getattr(settings, "public_base_url", "")
    if configured:
        return clean_base_url(configured)
    return clean_base_url(str(request.base_url))


def addin_api_key(settings: Settings) -> str:
    """The key given to the add-in: the dedicated setting, or the first API key in development."""
    key = getattr(settings, "addin_api_key", "")
    if key:
        return key
    if settings.environment == "development" and settings.api_keys:
        return settings.api_keys[0]
    return ""


def addin_config(base_url: str, settings: Settings) -> dict[str, object]:
    """What launchevent.js reads as ``MISDIRECT_CONFIG``."""
    return {
        "baseUrl": base_url,
        "apiKey": addin_api_key(settings),
        "failMode": getattr(settings, "addin_fail_mode", "open"),
        "timeBudgetMs": int(getattr(settings, "addin_time_budget_ms", 4000)),
        "sendMode": getattr(settings, "addin_send_mode", "SoftBlock"),
        "language": settings.language,
    }


def render_config_js(config: dict[str, object]) -> str:
    """``var MISDIRECT_CONFIG = {...};`` safe to embed anywhere (no ``</script>``, no U+2028)."""
    data = json.dumps(config, ensure_ascii=False, sort_keys=True)
    data = data.replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return (
        "/* misdirect add-in configuration, rendered by the service from its settings. */\n"
        f"var MISDIRECT_CONFIG = {data};\n"
    )


def render_manifest(template: str, base_url: str, settings: Settings, *, xml: bool) -> str:
    """Fill a manifest template's ``{{…}}`` placeholders for ``base_url``."""
    addin_id = getattr(settings, "addin_id", "")
    if not _GUID.match(addin_id):
        raise ValueError(f"addin_id must be a GUID, got {addin_id!r}")
    send_mode = getattr(settings, "addin_send_mode", "SoftBlock")
    values = {
        "BASE_URL": base_url,
        "ADDIN_ID": addin_id,
        "SEND_MODE": send_mode,
        "SEND_MODE_JSON": SEND_MODE_JSON[send_mode],
        "DOMAIN": urlsplit(base_url).netloc,
    }
    out = template
    for name, value in values.items():
        out = out.replace("{{" + name + "}}", escape(value, {'"': "&quot;"}) if xml else value)
    if "{{" in out:
        raise ValueError("manifest template has an unknown placeholder")
    return out


def unified_package(manifest_json: str, addin_dir: Path) -> bytes:
    """The zip Microsoft 365 expects for a unified manifest: manifest.json and its two icons."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", manifest_json)
        for icon in ("color.png", "outline.png"):
            zf.write(addin_dir / "src" / "assets" / icon, f"assets/{icon}")
    return buf.getvalue()


def mount_addin(app: FastAPI, settings: Settings, addin_dir: Path | None = None) -> None:
    """Serve the add-in (files, rendered configuration and manifests) from ``app``."""
    root = addin_dir or ADDIN_DIR
    src = root / "src"
    if not (src / "launchevent.js").is_file():
        return  # installed without the add-in's sources: nothing to serve
    xml_template = (root / "manifest.xml").read_text(encoding="utf-8")
    json_template = (root / "manifest.json").read_text(encoding="utf-8")
    handler_source = (src / "launchevent.js").read_text(encoding="utf-8")

    @app.get("/addin/config.js", include_in_schema=False)
    def config_js(request: Request) -> Response:
        config = addin_config(base_url_for(request, settings), settings)
        return Response(render_config_js(config), media_type="text/javascript", headers=_NO_CACHE)

    @app.get("/addin/launchevent.js", include_in_schema=False)
    def launchevent_js(request: Request) -> Response:
        config = addin_config(base_url_for(request, settings), settings)
        body = render_config_js(config) + handler_source
        return Response(body, media_type="text/javascript", headers=_NO_CACHE)

    @app.get("/addin/manifest.xml", include_in_schema=False)
    def manifest_xml(request: Request) -> Response:
        text = render_manifest(xml_template, base_url_for(request, settings), settings, xml=True)
        return Response(text, media_type="application/xml", headers=_NO_CACHE)

    @app.get("/addin/manifest.json", include_in_schema=False)
    def manifest_json(request: Request) -> Response:
        text = render_manifest(json_template, base_url_for(request, settings), settings, xml=False)
        return Response(text, media_type="application/json", headers=_NO_CACHE)

    @app.get("/addin/misdirect-addin.zip", include_in_schema=False)
    def package_zip(request: Request) -> Response:
        text = render_manifest(json_template, base_url_for(request, settings), settings, xml=False)
        return Response(
            unified_package(text, root),
            media_type="application/zip",
            headers={"Content-Disposition": 'attachment; filename="misdirect-addin.zip"'},
        )

    @app.get("/.well-known/microsoft-officeaddins-allowed.json", include_in_schema=False)
    def allowed(request: Request) -> JSONResponse:
        base = base_url_for(request, settings)
        return JSONResponse({"allowed": [f"{base}/addin/launchevent.js"]}, headers=_NO_CACHE)

    # Mounted after the routes above, which therefore win for their paths.
    app.mount("/addin", StaticFiles(directory=src, html=False), name="addin")


def main(argv: list[str] | None = None) -> None:
    """Render the manifests and config.js for hosting the add-in's files elsewhere."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--base-url", required=True, help="https origin serving /addin/")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    args = parser.parse_args(argv)
    from model.settings import get_settings

    settings = get_settings()
    base = clean_base_url(args.base_url)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, xml in (("manifest.xml", True), ("manifest.json", False)):
        template = (ADDIN_DIR / name).read_text(encoding="utf-8")
        (args.out / name).write_text(render_manifest(template, base, settings, xml=xml), "utf-8")
    manifest_json = (args.out / "manifest.json").read_text(encoding="utf-8")
    (args.out / "misdirect-addin.zip").write_bytes(unified_package(manifest_json, ADDIN_DIR))
    (args.out / "config.js").write_text(render_config_js(addin_config(base, settings)), "utf-8")
    print(f"wrote manifest.xml, manifest.json, misdirect-addin.zip and config.js to {args.out}")


if __name__ == "__main__":  # pragma: no cover
    main()

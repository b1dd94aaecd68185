"""The add-in files served by the service: rendered configuration, manifests, well-known file."""

from __future__ import annotations

import io
import json
import re
import zipfile
from xml.etree import ElementTree

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from model.settings import Settings
from service.addin_files import clean_base_url, mount_addin, render_config_js

NS = {
    "o": "http://schemas.microsoft.com/office/appforoffice/1.1",
    "v": "http://schemas.microsoft.com/office/mailappversionoverrides/1.1",
    "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
}
KEY = "dev-key-0123456789abcdef"


def client(**overrides: object) -> TestClient:
    values: dict[str, object] = {"api_keys": [KEY], "environment": "development"}
    values.update(overrides)
    app = FastAPI()
    mount_addin(app, Settings(**values))
    return TestClient(app, base_url="https://mail-check.cds-havre.example")


def config_of(js: str) -> dict:
    match = re.search(r"var MISDIRECT_CONFIG = (\{.*\});", js)
    assert match, js
    return json.loads(match.group(1))


def test_config_js_carries_absolute_url_key_and_policy() -> None:
    r = client(addin_fail_mode="closed", addin_time_budget_ms=3000).get("/addin/config.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    cfg = config_of(r.text)
    assert cfg["baseUrl"] == "https://mail-check.cds-havre.example"
    assert cfg["apiKey"] == KEY
    assert cfg["failMode"] == "closed"
    assert cfg["timeBudgetMs"] == 3000


def test_public_base_url_and_dedicated_key_win() -> None:
    c = client(public_base_url="https://misdirect.example.org/", addin_api_key="install-id-42")
    cfg = config_of(c.get("/addin/config.js").text)
    assert cfg == {**cfg, "baseUrl": "https://misdirect.example.org", "apiKey": "install-id-42"}


def test_production_never_exposes_a_server_key_by_default() -> None:
    cfg = config_of(client(environment="production").get("/addin/config.js").text)
    assert cfg["apiKey"] == ""


def test_launchevent_is_served_with_its_configuration_first() -> None:
    js = client().get("/addin/launchevent.js").text
    assert js.index("var MISDIRECT_CONFIG") < js.index("function onMessageSendHandler")
    assert 'Office.actions.associate("onMessageSendHandler"' in js


@pytest.mark.parametrize("send_mode", ["SoftBlock", "PromptUser", "Block"])
def test_manifest_xml_is_rendered_for_the_base_url(send_mode: str) -> None:
    xml = client(addin_send_mode=send_mode).get("/addin/manifest.xml").text
    assert "{{" not in xml
    root = ElementTree.fromstring(xml)
    event = root.find(".//v:LaunchEvent", NS)
    assert event is not None
    assert event.get("Type") == "OnMessageSend"
    assert event.get("SendMode") == send_mode
    urls = {u.get("id"): u.get("DefaultValue") for u in root.iterfind(".//bt:Url", NS)}
    assert urls["JSRuntime.Url"] == "https://mail-check.cds-havre.example/addin/launchevent.js"
    assert urls["WebViewRuntime.Url"] == "https://mail-check.cds-havre.example/addin/commands.html"


def test_manifest_json_and_package() -> None:
    c = client(addin_send_mode="PromptUser")
    manifest = c.get("/addin/manifest.json").json()
    ext = manifest["extensions"][0]
    assert ext["autoRunEvents"][0]["events"][0]["options"]["sendMode"] == "promptUser"
    assert manifest["validDomains"] == ["mail-check.cds-havre.example"]
    package = zipfile.ZipFile(io.BytesIO(c.get("/addin/misdirect-addin.zip").content))
    assert sorted(package.namelist()) == ["assets/color.png", "assets/outline.png", "manifest.json"]


def test_well_known_file_lists_the_handler_script() -> None:
    r = client().get("/.well-known/microsoft-officeaddins-allowed.json")
    assert r.json() == {"allowed": ["https://mail-check.cds-havre.example/addin/launchevent.js"]}


def test_static_files_and_nothing_else() -> None:
    c = client()
    assert c.get("/addin/taskpane.html").status_code == 200
    assert c.get("/addin/assets/icon-32.png").headers["content-type"] == "image/png"
    assert c.get("/addin/../manifest.xml").status_code == 404
    assert c.get("/addin/test/fake-office.js").status_code == 404


@pytest.mark.parametrize(
    "bad", ["ftp://x.example", "https://", "https://x.example/?q=1", "https://x.example/\"><x", "x"]
)
def test_base_url_is_checked(bad: str) -> None:
    with pytest.raises(ValueError):
        clean_base_url(bad)


def test_config_js_cannot_break_out_of_a_script() -> None:
    js = render_config_js({"baseUrl": "https://x.example", "apiKey": "</script><script>alert(1)"})
    assert "</script>" not in js

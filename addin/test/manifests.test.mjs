// The manifests and the single-file constraint of the classic Windows runtime.
import test from "node:test";
import assert from "node:assert/strict";
import { readFile, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { renderTemplate, validateJson, validateXml } from "../scripts/validate-manifests.mjs";

const addinDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

async function rendered(name, mutate) {
  const dir = await mkdtemp(path.join(tmpdir(), "misdirect-manifest-test-"));
  let text = renderTemplate(await readFile(path.join(addinDir, name), "utf8"), "https://misdirect.example.org", { xml: name.endsWith(".xml") });
  if (mutate) text = mutate(text);
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

test("manifest.json validates against the Microsoft 365 app manifest schema", async () => {
  assert.deepEqual(await validateJson(await rendered("manifest.json")), []);
});

test("manifest.json validation catches mistakes", async () => {
  const errors = await validateJson(await rendered("manifest.json", (t) => t.replace('"messageSending"', '"messageSent"').replace('"lifetime": "short"', '"lifetime": "forever"')));
  assert.ok(errors.length >= 2, JSON.stringify(errors));
});

test("manifest.xml declares OnMessageSend with the runtimes Smart Alerts need", async () => {
  assert.deepEqual(await validateXml(await rendered("manifest.xml")), []);
  const errors = await validateXml(await rendered("manifest.xml", (t) => t.replace('Override type="javascript" resid="JSRuntime.Url"', 'Override type="javascript" resid="Other.Url"')));
  assert.deepEqual(errors, ["Runtimes"]);
});

test("launchevent.js is one classic script: no import/export, associates its handler", async () => {
  const src = await readFile(path.join(addinDir, "src", "launchevent.js"), "utf8");
  assert.doesNotMatch(src, /^\s*(import|export)\s/m);
  assert.doesNotMatch(src, /(localStorage|sessionStorage)\s*\.|document\.cookie/);
  assert.match(src, /Office\.actions\.associate\("onMessageSendHandler", onMessageSendHandler\)/);
});

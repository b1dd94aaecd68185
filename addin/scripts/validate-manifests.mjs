// Validates the add-in's manifests, offline.
//   node scripts/validate-manifests.mjs [DIR]   (DIR holds rendered manifest.xml / manifest.json;
//                                               default: the templates rendered here for a test URL)
// - manifest.json: the Microsoft 365 app-manifest JSON schema shipped in @microsoft/app-manifest
//   (office-addin-manifest's own validation path for JSON; no network).
// - manifest.xml: office-addin-manifest parses it; its schema check is Microsoft's online
//   validation service, unreachable here, so the Smart Alerts structure is checked locally.
// Exit status 0 when both pass; prints one line per check.
import { readFile, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
process.env.OFFICE_ADDIN_USAGE_DATA_LEVEL = process.env.OFFICE_ADDIN_USAGE_DATA_LEVEL || "off";
const here = path.dirname(fileURLToPath(import.meta.url));
const addinDir = path.resolve(here, "..");

export function renderTemplate(text, base, { xml }) {
  const values = {
    BASE_URL: base, ADDIN_ID: "5d3c1f0e-6a2b-4c7d-9e8f-1a2b3c4d5e6f",
    SEND_MODE: "SoftBlock", SEND_MODE_JSON: "softBlock", DOMAIN: new URL(base).host,
  };
  let out = text;
  for (const [k, v] of Object.entries(values)) out = out.split(`{{${k}}}`).join(xml ? v.replace(/&/g, "&amp;") : v);
  return out;
}

async function renderedDir() {
  const dir = await mkdtemp(path.join(tmpdir(), "misdirect-manifests-"));
  const base = "https://misdirect.example.org";
  for (const [name, xml] of [["manifest.xml", true], ["manifest.json", false]]) {
    const t = await readFile(path.join(addinDir, name), "utf8");
    await writeFile(path.join(dir, name), renderTemplate(t, base, { xml }));
  }
  return dir;
}

export async function validateJson(file) {
  const { AppManifestUtils } = require("@microsoft/app-manifest");
  const manifest = JSON.parse(await readFile(file, "utf8"));
  const errors = await AppManifestUtils.validateAgainstSchema(manifest);
  const ext = manifest.extensions[0];
  const rt = ext.runtimes.find((r) => r.actions.some((a) => a.id === "onMessageSendHandler"));
  const ev = ext.autoRunEvents[0].events[0];
  if (!rt || !/\/commands\.html$/.test(rt.code.page) || !/\/launchevent\.js$/.test(rt.code.script)) errors.push("runtime code.page/script");
  if (ev.type !== "messageSending" || ev.actionId !== "onMessageSendHandler") errors.push("autoRunEvents messageSending");
  if (!["promptUser", "softBlock", "block"].includes(ev.options.sendMode)) errors.push("sendMode");
  return errors;
}

export async function validateXml(file) {
  const { OfficeAddinManifest } = require("office-addin-manifest");
  const xml2js = require("xml2js");
  const errors = [];
  const info = await OfficeAddinManifest.readManifestFile(file); // parses and reads the basics
  if (!info.id || !/^[0-9a-f-]{36}$/i.test(info.id)) errors.push("Id");
  const text = await readFile(file, "utf8");
  const doc = await xml2js.parseStringPromise(text);
  const vo = doc.OfficeApp.VersionOverrides[0].VersionOverrides[0];
  const sets = vo.Requirements[0]["bt:Sets"][0];
  if (sets.$.DefaultMinVersion !== "1.12") errors.push("Mailbox 1.12 requirement");
  const host = vo.Hosts[0].Host[0];
  const runtime = host.Runtimes[0].Runtime[0];
  if (runtime.$.resid !== "WebViewRuntime.Url" || runtime.Override[0].$.resid !== "JSRuntime.Url" || runtime.Override[0].$.type !== "javascript") errors.push("Runtimes");
  const launch = host.DesktopFormFactor[0].ExtensionPoint.find((e) => e.$["xsi:type"] === "LaunchEvent");
  const ev = launch && launch.LaunchEvents[0].LaunchEvent;
  if (!ev || ev.length !== 1 || ev[0].$.Type !== "OnMessageSend" || ev[0].$.FunctionName !== "onMessageSendHandler") errors.push("LaunchEvent");
  if (ev && !["PromptUser", "SoftBlock", "Block"].includes(ev[0].$.SendMode)) errors.push("SendMode");
  if (launch && launch.SourceLocation[0].$.resid !== "WebViewRuntime.Url") errors.push("LaunchEvent SourceLocation");
  const urls = Object.fromEntries(vo.Resources[0]["bt:Urls"][0]["bt:Url"].map((u) => [u.$.id, u.$.DefaultValue]));
  if (!/^https?:\/\/.+\/commands\.html$/.test(urls["WebViewRuntime.Url"] || "")) errors.push("WebViewRuntime.Url");
  if (!/^https?:\/\/.+\/launchevent\.js$/.test(urls["JSRuntime.Url"] || "")) errors.push("JSRuntime.Url");
  const controls = JSON.stringify(host.DesktopFormFactor[0].ExtensionPoint);
  if (!controls.includes('"id":"misdirectOpenPane"')) errors.push("task pane control misdirectOpenPane");
  if (doc.OfficeApp.Permissions[0] !== "ReadWriteItem") errors.push("Permissions");
  return errors;
}

export async function validateXmlOnline(file) {
  const { validateManifest } = require("office-addin-manifest/lib/validate");
  try {
    const v = await validateManifest(file);
    return v.isValid ? "valid" : `invalid (${v.status} ${v.statusText || ""})`;
  } catch (e) {
    return "not run: " + String(e.message).split("\n")[0];
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] || (await renderedDir());
  const jsonErrors = await validateJson(path.join(dir, "manifest.json"));
  console.log(`manifest.json schema (offline): ${jsonErrors.length ? "FAIL\n  " + jsonErrors.join("\n  ") : "ok"}`);
  const xmlErrors = await validateXml(path.join(dir, "manifest.xml"));
  console.log(`manifest.xml structure: ${xmlErrors.length ? "FAIL " + xmlErrors.join(", ") : "ok"}`);
  if (process.env.MISDIRECT_ONLINE_VALIDATION) {
    console.log(`manifest.xml Microsoft validation service: ${await validateXmlOnline(path.join(dir, "manifest.xml"))}`);
  }
  process.exit(jsonErrors.length || xmlErrors.length ? 1 : 0);
}

// End-to-end: the real service (misdirect serve, small synthetic bundle), the add-in pages it
// serves, Debian's Chromium driven by playwright-core, and a fake Office object in the page.
//
// Env: MISDIRECT_E2E_WORLD (a `misdirect generate` folder) and MISDIRECT_E2E_MODEL (a trained
// bundle) reuse existing data; otherwise both are made in a temp folder (~40 s).
// MISDIRECT_BIN (default .venv/bin/misdirect), CHROMIUM_PATH (default /usr/bin/chromium).
// Runs only with MISDIRECT_E2E=1 (addin/scripts/test.sh sets it), so that `node --test addin/test/`
// stays a quick unit run.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, readFile, mkdir, copyFile, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { validateJson, validateXml } from "../../scripts/validate-manifests.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const ADDIN = path.resolve(here, "..", "..");
const ROOT = path.resolve(ADDIN, "..");
const BIN = process.env.MISDIRECT_BIN || path.join(ROOT, ".venv", "bin", "misdirect");
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const RESULTS = path.join(ADDIN, "test-results");
const KEY = "e2e-" + Math.random().toString(36).slice(2) + "-key-0123456789";
const CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

let tmp;
let server;
let serverLog = "";
let base;
let context;
let world;
let seedCase;
let seedLabel;
let normalCase;

function run(args, label) {
  const t0 = Date.now();
  const res = spawnSync(BIN, args, { cwd: ROOT, encoding: "utf8", env: serviceEnv(), maxBuffer: 64 * 1024 * 1024 });
  if (res.status !== 0) throw new Error(`${label} failed (${res.status}):\n${(res.stderr || "").slice(-3000)}`);
  console.log(`${label}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function serviceEnv(extra) {
  return Object.assign({}, process.env, {
    MISDIRECT_API_KEYS: KEY,
    MISDIRECT_ADDIN_API_KEY: KEY,
    MISDIRECT_VAR_DIR: path.join(tmp, "var"),
    MISDIRECT_HISTORY_URL: "sqlite:///" + path.join(tmp, "var", "history.db"),
    MISDIRECT_KEY_STORE: path.join(tmp, "var", "api_keys.json"),
    MISDIRECT_MLFLOW_URI: "sqlite:///" + path.join(tmp, "mlflow.db"),
    MISDIRECT_LOG_LEVEL: "WARNING",
  }, extra || {});
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function waitReady(url, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (server.exitCode !== null) throw new Error("service exited:\n" + serverLog.slice(-3000));
    try {
      const r = await fetch(url);
      if (r.status === 200) return;
    } catch (e) { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("service not ready in time:\n" + serverLog.slice(-3000));
}

async function readJsonl(file) {
  return (await readFile(file, "utf8")).split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
}

async function check(request) {
  const r = await fetch(base + "/v1/check", {
    method: "POST", headers: { "Content-Type": "application/json", Authorization: "Bearer " + KEY },
    body: JSON.stringify(request),
  });
  assert.equal(r.status, 200, await r.clone().text());
  return r.json();
}

/** A check request (cases.jsonl line) as the draft the fake Office item exposes. */
function toDraft(req) {
  const rec = (r) => (typeof r === "string" ? { emailAddress: r, displayName: r } : { emailAddress: r.address, displayName: r.name || r.address });
  return {
    from: rec(req.sender), to: (req.to || []).map(rec), cc: (req.cc || []).map(rec), bcc: (req.bcc || []).map(rec),
    subject: req.subject || "", body: req.body_format === "html" ? req.body.replace(/<[^>]+>/g, " ") : (req.body || ""),
    attachments: (req.attachments || []).map((a, i) => ({
      id: String(i), name: a.filename, size: Buffer.from(a.content_base64 || "", "base64").length, content: a.content_base64 || "",
    })),
  };
}

async function openAddinPage(draft, options) {
  const page = await context.newPage();
  await page.setViewportSize({ width: 460, height: 900 });
  // No network beyond the service: the fake Office stands in for Microsoft's office.js.
  await page.route("https://appsforoffice.microsoft.com/**", (route) =>
    route.fulfill({ status: 200, contentType: "text/javascript", body: "/* office.js replaced by the test's fake */" }));
  const api = [];
  page.on("response", async (res) => {
    const url = res.url();
    if (url.startsWith(base + "/v1/")) {
      let body = null;
      try { body = JSON.parse(res.request().postData() || "null"); } catch (e) { body = null; }
      api.push({ path: new URL(url).pathname, status: res.status(), body });
    }
  });
  const fake = await readFile(path.join(ADDIN, "test", "fake-office.js"), "utf8");
  await page.addInitScript({ content: fake + `\nwindow.Office = createFakeOffice(${JSON.stringify(draft)}, ${JSON.stringify(options || {})});` });
  await page.goto(base + "/addin/taskpane.html");
  await page.waitForFunction(() => window.MisdirectTaskpane && window.Office.__test.handlers.onMessageSendHandler);
  return { page, api };
}

async function waitFor(pred, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (pred()) return true; await new Promise((r) => setTimeout(r, 50)); }
  return false;
}

const ENABLED = process.env.MISDIRECT_E2E === "1";

describe("add-in end to end (service + Chromium)", { skip: ENABLED ? false : "set MISDIRECT_E2E=1 to run" }, () => {
  before(async () => {
    assert.ok(existsSync(BIN), `missing ${BIN}: run make install`);
    assert.ok(existsSync(CHROMIUM), `missing ${CHROMIUM}: apt-get install -y chromium`);
    tmp = await mkdtemp(path.join(os.tmpdir(), "misdirect-addin-e2e-"));
    await mkdir(path.join(tmp, "var"), { recursive: true });
    world = process.env.MISDIRECT_E2E_WORLD || path.join(tmp, "world");
    let model = process.env.MISDIRECT_E2E_MODEL;
    if (!process.env.MISDIRECT_E2E_WORLD) run(["generate", "--out", world, "--size", "small", "--seed", "7"], "misdirect generate");
    if (!model) {
      model = path.join(tmp, "model");
      run(["train", "--history", path.join(world, "history.mbox"), "--model", model,
        "--mlflow-uri", "sqlite:///" + path.join(tmp, "mlflow.db")], "misdirect train");
    }
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const t0 = Date.now();
    // MISDIRECT_MODEL_DIR too: `serve --model` alone was ignored (settings cached before the CLI
    // sets that variable; see docs/addin.md).
    server = spawn(BIN, ["serve", "--model", model, "--host", "127.0.0.1", "--port", String(port)], {
      cwd: ROOT, env: serviceEnv({ MISDIRECT_MODEL_DIR: model }), stdio: ["ignore", "pipe", "pipe"],
    });
    server.stdout.on("data", (d) => { serverLog += d; });
    server.stderr.on("data", (d) => { serverLog += d; });
    await waitReady(base + "/readyz", 120000);
    console.log(`service ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // The seed case: several patients' NIR to a patient one letter away from a colleague.
    const cases = await readJsonl(path.join(world, "cases.jsonl"));
    const labels = await readJsonl(path.join(world, "labels.jsonl"));
    // The seed case of the world (a patient one letter from a colleague, other patients' NIR):
    // the service must block it, and the add-in must stop the send without a Send Anyway path.
    const seedIndex = labels.findIndex((l) => l.kind === "seed");
    assert.ok(seedIndex >= 0, "no seed case in the synthetic world");
    seedCase = cases[seedIndex];
    seedLabel = labels[seedIndex];
    // A normal message the model lets through (the first such legit case).
    for (let i = 0; i < labels.length && !normalCase; i++) {
      if (labels[i].scenario !== "legit") continue;
      const r = await check(cases[i]);
      if (r.verdict === "send") normalCase = cases[i];
    }
    assert.ok(normalCase, "no legitimate case answered 'send'");

    const { chromium } = await import("playwright-core");
    context = await chromium.launchPersistentContext(path.join(tmp, "chromium-profile"), {
      executablePath: CHROMIUM, headless: true, args: CHROME_ARGS,
    });
    await mkdir(RESULTS, { recursive: true });
  });

  after(async () => {
    if (context) await context.close().catch(() => {});
    if (server && server.exitCode === null) {
      server.kill("SIGTERM");
      await new Promise((r) => { server.once("exit", r); setTimeout(r, 5000); });
    }
    if (tmp && !process.env.MISDIRECT_E2E_KEEP) await rm(tmp, { recursive: true, force: true });
  });

  test("the service serves the add-in, its configuration and valid manifests", async () => {
    const js = await (await fetch(base + "/addin/launchevent.js")).text();
    assert.match(js, /var MISDIRECT_CONFIG = \{/);
    assert.ok(js.includes(`"baseUrl": "${base}"`), "absolute API base URL in the classic runtime's script");
    assert.match(js, /Office\.actions\.associate\("onMessageSendHandler"/);
    const allowed = await (await fetch(base + "/.well-known/microsoft-officeaddins-allowed.json")).json();
    assert.deepEqual(allowed, { allowed: [base + "/addin/launchevent.js"] });
    const dir = path.join(tmp, "manifests");
    await mkdir(dir, { recursive: true });
    for (const name of ["manifest.xml", "manifest.json"]) {
      const r = await fetch(base + "/addin/" + name);
      assert.equal(r.status, 200);
      await import("node:fs/promises").then((fs) => r.text().then((t) => fs.writeFile(path.join(dir, name), t)));
    }
    assert.deepEqual(await validateJson(path.join(dir, "manifest.json")), []);
    assert.deepEqual(await validateXml(path.join(dir, "manifest.xml")), []);
    const xml = await readFile(path.join(dir, "manifest.xml"), "utf8");
    assert.ok(xml.includes(`DefaultValue="${base}/addin/launchevent.js"`));
  });

  test("the seed case is stopped with French reasons, then fixing the address is reported", async () => {
    const direct = await check(seedCase);
    console.log(`seed case ${seedLabel.case_id} (${seedLabel.kind}): service verdict ${direct.verdict}, risk ${direct.risk}, sensitive ${JSON.stringify(direct.sensitive)}`);
    const { page, api } = await openAddinPage(toDraft(seedCase), { mailbox: "1.14" });
    const t0 = Date.now();
    const completed = await page.evaluate(() => window.Office.__test.fireSend());
    const elapsed = Date.now() - t0;
    console.log(`seed case handled in ${elapsed} ms; errorMessage:\n# ` + String(completed.errorMessage).replace(/\n/g, "\n  "));
    assert.ok(elapsed < 4500, `handler took ${elapsed} ms`);
    assert.equal(completed.allowEvent, false);
    const wrong = seedLabel.wrong[0];
    assert.ok(completed.errorMessage.includes(wrong), "names the wrong recipient");
    assert.ok(completed.errorMessage.length <= 500);
    assert.match(completed.errorMessage, /misdirect|Motif|destinataire/);
    assert.match(completed.errorMessage, /[àéèêç]/, "French text");
    assert.equal(direct.verdict, "block", "the service blocks the seed case");
    assert.equal(completed.sendModeOverride, undefined, "a block has no Send Anyway");
    assert.match(completed.errorMessage, /bloqué/);
    assert.ok(completed.cancelLabel.length <= 20);
    const sentAttachments = api.find((c) => c.path === "/v1/check").body.attachments.map((a) => a.filename);
    assert.deepEqual(sentAttachments, (seedCase.attachments || []).map((a) => a.filename), "small attachments go to the check");

    // The task pane shows the reasons (this is the screenshot).
    await page.evaluate(() => window.MisdirectTaskpane.refresh());
    const text = await page.textContent("body");
    assert.ok(text.includes(wrong));
    const reason = direct.recipients.find((r) => r.address.toLowerCase() === wrong.toLowerCase());
    if (reason && reason.reasons.length) assert.ok(text.includes(reason.reasons[0].message));
    const shot = path.join(RESULTS, "addin-e2e.png");
    await page.screenshot({ path: shot, fullPage: true });
    await mkdir(path.join(ROOT, "bench", "results"), { recursive: true });
    await copyFile(shot, path.join(ROOT, "bench", "results", "addin-e2e.png"));

    // The user replaces the flagged address with the intended one and sends again.
    if (seedLabel.intended) {
      await page.evaluate(([w, i]) => {
        const d = window.Office.__test.draft;
        const swap = (list) => list.map((r) => (r.emailAddress.toLowerCase() === w.toLowerCase() ? { emailAddress: i, displayName: i } : r));
        window.Office.__test.setDraft({ to: swap(d.to), cc: swap(d.cc), bcc: swap(d.bcc) });
      }, [wrong, seedLabel.intended]);
      const second = await page.evaluate(() => window.Office.__test.fireSend());
      console.log(`after the fix: allowEvent ${second.allowEvent}`);
      assert.ok(await waitFor(() => api.some((c) => c.path === "/v1/feedback"), 3000), "feedback posted");
      const fb = api.find((c) => c.path === "/v1/feedback");
      assert.ok(fb.status >= 200 && fb.status < 300, `feedback status ${fb.status}`);
      assert.equal(fb.body.action, "changed_recipient");
      assert.equal(fb.body.recipient, wrong.toLowerCase());
      assert.equal(fb.body.replaced_by, seedLabel.intended.toLowerCase());
    }
    await page.close();
  });

  test("a normal message is allowed and reported to /v1/sent", async () => {
    const { page, api } = await openAddinPage(toDraft(normalCase), { mailbox: "1.14" });
    const completed = await page.evaluate(() => window.Office.__test.fireSend());
    assert.deepEqual(completed, { allowEvent: true });
    assert.ok(await waitFor(() => api.some((c) => c.path === "/v1/sent"), 3000), "sent reported");
    const sent = api.find((c) => c.path === "/v1/sent");
    assert.ok(sent.status >= 200 && sent.status < 300, `sent status ${sent.status}`);
    await page.evaluate(() => window.MisdirectTaskpane.refresh());
    assert.match(await page.textContent("#status-title"), /Aucun risque/);
    await page.screenshot({ path: path.join(RESULTS, "addin-e2e-allowed.png"), fullPage: true });
    await page.close();
  });
});

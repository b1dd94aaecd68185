// Unit tests of the OnMessageSend handler: pure functions, then the whole handler against a
// fake Office object and a small local HTTP server standing in for the misdirect service.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const http = require("node:http");
const path = require("node:path");

const { createFakeOffice } = require("./fake-office.js");
const addin = require(path.join(__dirname, "..", "src", "launchevent.js"));

const SENDER = { emailAddress: "c.martin@cds-havre.example", displayName: "Claire Martin" };
const COLLEAGUE = "s.lemaire@cds-havre.example";
const PATIENT = "slemaire@gmail.com";

function draft(overrides) {
  return Object.assign({
    from: SENDER,
    to: [{ emailAddress: PATIENT, displayName: "S Lemaire" }],
    cc: [], bcc: [],
    subject: "Télétransmission du 2 juin",
    body: "Bonjour Sophie, voici les NIR : 2 55 08 14 168 025 38 ...",
    attachments: [],
  }, overrides || {});
}

function response(verdict, overrides) {
  const risky = verdict !== "send";
  return Object.assign({
    check_id: "chk-1", verdict, risk: risky ? 0.97 : 0.02,
    recipients: [{
      address: PATIENT, field: "to", risk: risky ? 0.97 : 0.02, verdict,
      reasons: risky ? [{ code: "near_duplicate", message: "Adresse à une lettre de celle d'une collègue (s.lemaire@cds-havre.example)." }] : [],
      suggestion: risky ? COLLEAGUE : null,
    }],
    sensitive: { NIR: 3, IBAN: 1, PERSON: 4 }, advice: [], model_version: "test", elapsed_ms: 3.2,
  }, overrides || {});
}

// ---------------------------------------------------------------- a fake service

function startServer(handler) {
  const requests = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => { body += c; });
    req.on("end", () => {
      let json = null;
      try { json = JSON.parse(body); } catch (e) { json = null; }
      const entry = { method: req.method, url: req.url, auth: req.headers.authorization, body: json };
      requests.push(entry);
      handler(entry, res);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const base = "http://127.0.0.1:" + server.address().port;
      resolve({ base, requests, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) });
    });
  });
}

function json(res, status, body) {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
}

/** A service answering /v1/check with `verdictFor(request)` and 200 {} elsewhere. */
function service(verdictFor) {
  return startServer((req, res) => {
    if (req.url === "/v1/check") {
      const out = verdictFor(req.body);
      if (out === undefined) return; // never answers
      json(res, 200, out);
    } else {
      json(res, 200, { ok: true });
    }
  });
}

async function fire(office, cfg) {
  globalThis.Office = office;
  let completed = null;
  const event = { completed: (opts) => { completed = opts; } };
  const t0 = Date.now();
  const result = await addin.onMessageSendHandler(event, cfg);
  return { completed, result, elapsed: Date.now() - t0 };
}

// ---------------------------------------------------------------- pure functions

test("buildRequest maps the draft to the SPEC §4 check request", () => {
  const req = addin.buildRequest({
    from: SENDER,
    to: [{ emailAddress: "A@Example.org", displayName: "A@Example.org" }, { emailAddress: "Bob Only" }],
    cc: [{ emailAddress: COLLEAGUE, displayName: "Sophie Lemaire" }],
    bcc: [],
    subject: "x".repeat(5000),
    body: "corps",
    attachments: [{ name: "bordereau.CSV", content_base64: "YQ==" }],
  }, addin.getConfig(), new Date("2023-06-03T07:12:00Z"));
  assert.deepEqual(req.sender, { address: SENDER.emailAddress, name: "Claire Martin" });
  assert.deepEqual(req.to, [{ address: "A@Example.org", name: null }]); // unresolved entry dropped
  assert.deepEqual(req.cc, [{ address: COLLEAGUE, name: "Sophie Lemaire" }]);
  assert.equal(req.subject.length, 4000);
  assert.equal(req.body_format, "text");
  assert.deepEqual(req.attachments, [{ filename: "bordereau.CSV", content_type: "text/csv", content_base64: "YQ==" }]);
  assert.equal(req.sent_at, "2023-06-03T07:12:00.000Z");
});

test("selectAttachments skips inline, cloud, item, large and excess attachments", () => {
  const cfg = addin.getConfig({ maxAttachments: 2, maxAttachmentBytes: 1000, maxTotalAttachmentBytes: 1500 });
  const { selected, skipped } = addin.selectAttachments([
    { id: "0", name: "logo.png", size: 10, attachmentType: "file", isInline: true },
    { id: "1", name: "lien", size: 10, attachmentType: "cloud" },
    { id: "2", name: "mail.eml", size: 10, attachmentType: "item" },
    { id: "3", name: "gros.pdf", size: 5000, attachmentType: "file" },
    { id: "4", name: "a.csv", size: 900, attachmentType: "file" },
    { id: "5", name: "b.csv", size: 700, attachmentType: "file" },
    { id: "6", name: "c.csv", size: 100, attachmentType: "file" },
    { id: "7", name: "d.csv", size: 100, attachmentType: "file" },
  ], cfg);
  assert.deepEqual(selected.map((a) => a.id), ["4", "6"]);
  assert.deepEqual(skipped.map((s) => s.reason),
    ["inline", "cloud", "item", "too_large", "total_too_large", "too_many"]);
});

test("formatMessage names the recipient, the reason and the suggestion, in French", () => {
  const msg = addin.formatMessage(response("block"), { mode: "block" });
  assert.match(msg, /slemaire@gmail\.com \(97 %\)/);
  assert.match(msg, /Motif : Adresse à une lettre/);
  assert.match(msg, /Vouliez-vous écrire à s\.lemaire@cds-havre\.example/);
  assert.match(msg, /bloqué/);
  assert.match(msg, /3 NIR/);
  assert.ok(msg.length <= addin.ERROR_MESSAGE_MAX);
});

test("formatMessage stays within 500 characters whatever the service says", () => {
  const many = [];
  for (let i = 0; i < 40; i++) {
    many.push({ address: `patient.numero.${i}@une-messagerie-tres-longue.example`, field: "to", risk: 0.9 - i / 100,
      verdict: "warn", reasons: [{ code: "x", message: "Très longue explication ".repeat(60) }], suggestion: null });
  }
  many[5].suggestion = "quelqu.un.de.bien@cds-havre.example";
  for (const mode of ["warn", "block"]) {
    for (const supports114 of [true, false]) {
      const msg = addin.formatMessage(response("warn", { recipients: many, sensitive: { NIR: 20, IBAN: 3, PHONE: 9, PERSON: 30, HEALTH: 12, BIRTH_DATE: 20 } }), { mode, supports114 });
      assert.ok(msg.length <= 500, `length ${msg.length}`);
      assert.match(msg, /patient\.numero\.0@/);
      assert.match(msg, /et 37 autre\(s\)/);
      assert.match(msg, /Motif : Très longue/);
      assert.match(msg, /quelqu\.un\.de\.bien@cds-havre\.example/);
    }
  }
});

test("diffRecipients tells sent anyway, changed recipient and cancelled apart", () => {
  const pending = { flagged: [PATIENT], recipients: [PATIENT, "x@cds-havre.example"], suggestion: COLLEAGUE };
  assert.deepEqual(addin.diffRecipients(pending, [PATIENT.toUpperCase(), "x@cds-havre.example"]),
    { action: "sent_anyway", recipient: PATIENT, replaced_by: null });
  assert.deepEqual(addin.diffRecipients(pending, ["other@new.example", COLLEAGUE, "x@cds-havre.example"]),
    { action: "changed_recipient", recipient: PATIENT, replaced_by: COLLEAGUE });
  assert.deepEqual(addin.diffRecipients(pending, ["other@new.example"]),
    { action: "changed_recipient", recipient: PATIENT, replaced_by: "other@new.example" });
  assert.deepEqual(addin.diffRecipients(pending, ["x@cds-havre.example"]),
    { action: "cancelled", recipient: PATIENT, replaced_by: null });
});

test("validateResponse rejects garbage", () => {
  for (const bad of [null, "send", [], {}, { verdict: "maybe", recipients: [] }, { verdict: "send" },
    { verdict: "warn", recipients: [{ risk: 1 }] }, { verdict: "warn", recipients: [{ address: "a@b.c", verdict: "??" }] }]) {
    assert.equal(addin.validateResponse(bad), null, JSON.stringify(bad));
  }
  assert.ok(addin.validateResponse(response("send")));
});

const REQUEST = addin.buildRequest(draft(), addin.getConfig());

test("decide: send allows and reports the sent message", () => {
  const plan = addin.decide({ response: response("send"), cfg: addin.getConfig(), supports114: true, pending: null, request: REQUEST });
  assert.deepEqual(plan.completed, { allowEvent: true });
  assert.equal(plan.reportSent, true);
  assert.equal(plan.pending, null);
});

test("decide: warn offers Send Anyway on Mailbox 1.14, with a short cancel label", () => {
  const plan = addin.decide({ response: response("warn"), cfg: addin.getConfig(), supports114: true, pending: null, request: REQUEST });
  assert.equal(plan.completed.allowEvent, false);
  assert.equal(plan.completed.sendModeOverride, "promptUser");
  assert.ok(plan.completed.cancelLabel.length <= addin.CANCEL_LABEL_MAX);
  assert.ok(plan.completed.errorMessage.length <= 500);
  assert.match(plan.completed.errorMessage, /Envoyer quand même/);
  assert.deepEqual(plan.pending.flagged, [PATIENT]);
});

test("decide: warn before Mailbox 1.14 uses no 1.14 option and asks to press Send again", () => {
  const plan = addin.decide({ response: response("warn"), cfg: addin.getConfig(), supports114: false, pending: null, request: REQUEST });
  assert.equal(plan.completed.allowEvent, false);
  for (const k of ["sendModeOverride", "cancelLabel", "commandId"]) assert.equal(plan.completed[k], undefined, k);
  assert.match(plan.completed.errorMessage, /cliquez de nouveau sur Envoyer/);
});

test("decide: block stops without the send-anyway path", () => {
  const plan = addin.decide({ response: response("block"), cfg: addin.getConfig(), supports114: true, pending: null, request: REQUEST });
  assert.equal(plan.completed.allowEvent, false);
  assert.equal(plan.completed.sendModeOverride, undefined);
  assert.match(plan.completed.errorMessage, /bloqué/);
  // Pressing Send again with the same recipients is still blocked.
  const again = addin.decide({ response: response("block"), cfg: addin.getConfig(), supports114: true, pending: plan.pending, request: REQUEST });
  assert.equal(again.completed.allowEvent, false);
  assert.equal(again.feedback, null);
});

test("decide: no usable answer fails open with a notice, or closed when configured", () => {
  const open = addin.decide({ response: null, cfg: addin.getConfig(), supports114: true, pending: null, request: REQUEST });
  assert.deepEqual(open.completed, { allowEvent: true });
  assert.match(open.notice, /n'a pas pu vérifier/);
  assert.ok(open.notice.length <= 150);
  const closed = addin.decide({ response: null, cfg: addin.getConfig({ failMode: "closed" }), supports114: true, pending: null, request: REQUEST });
  assert.equal(closed.completed.allowEvent, false);
  assert.match(closed.completed.errorMessage, /ne répond pas/);
});

// ---------------------------------------------------------------- the whole handler

test("handler associates itself with Office.actions", () => {
  const office = createFakeOffice(draft());
  globalThis.Office = office;
  const file = path.join(__dirname, "..", "src", "launchevent.js");
  delete require.cache[require.resolve(file)];
  require(file);
  assert.equal(typeof office.__test.handlers.onMessageSendHandler, "function");
  delete require.cache[require.resolve(file)];
});

test("handler: allowed message is sent and reported to /v1/sent", async () => {
  const svc = await service(() => response("send"));
  try {
    const small = Buffer.from("nom;nir\nDurand;255081416802538\n").toString("base64");
    const office = createFakeOffice(draft({ attachments: [{ name: "liste.csv", size: 40, content: small }] }));
    const { completed, elapsed } = await fire(office, { baseUrl: svc.base, apiKey: "k-123" });
    assert.deepEqual(completed, { allowEvent: true });
    assert.ok(elapsed < 2000);
    const check = svc.requests.find((r) => r.url === "/v1/check");
    assert.equal(check.auth, "Bearer k-123");
    assert.equal(check.body.to[0].address, PATIENT);
    assert.equal(check.body.attachments[0].content_base64, small);
    const sent = svc.requests.find((r) => r.url === "/v1/sent");
    assert.ok(sent, "the allowed message is reported");
    assert.deepEqual(sent.body.attachments, []);
    assert.equal(sent.body.subject, "Télétransmission du 2 juin");
  } finally { await svc.close(); }
});

test("handler: warning stops the send with the French reasons", async () => {
  const svc = await service(() => response("warn"));
  try {
    const { completed } = await fire(createFakeOffice(draft(), { mailbox: "1.14" }), { baseUrl: svc.base });
    assert.equal(completed.allowEvent, false);
    assert.equal(completed.sendModeOverride, "promptUser");
    assert.match(completed.errorMessage, /slemaire@gmail\.com/);
    assert.ok(!svc.requests.some((r) => r.url === "/v1/sent"));
  } finally { await svc.close(); }
});

test("handler: block stops the send with no Send Anyway", async () => {
  const svc = await service(() => response("block"));
  try {
    const { completed } = await fire(createFakeOffice(draft(), { mailbox: "1.15" }), { baseUrl: svc.base });
    assert.equal(completed.allowEvent, false);
    assert.equal(completed.sendModeOverride, undefined);
    assert.equal(completed.cancelLabel, "Corriger");
    assert.match(completed.errorMessage, /Vouliez-vous écrire à s\.lemaire@cds-havre\.example/);
  } finally { await svc.close(); }
});

test("handler: slow service -> allowed with a notice within the time budget", async () => {
  const svc = await service(() => undefined); // never answers
  try {
    const office = createFakeOffice(draft());
    const { completed, elapsed, result } = await fire(office, { baseUrl: svc.base, timeBudgetMs: 700 });
    assert.deepEqual(completed, { allowEvent: true });
    assert.ok(elapsed < 1200, `took ${elapsed} ms`);
    assert.ok(result.error);
    assert.equal(office.__test.notices.length, 1);
    assert.match(office.__test.notices[0].details.message, /service indisponible/);
  } finally { await svc.close(); }
});

test("handler: slow service with fail-closed stops the send", async () => {
  const svc = await service(() => undefined);
  try {
    const { completed, elapsed } = await fire(createFakeOffice(draft()), { baseUrl: svc.base, timeBudgetMs: 600, failMode: "closed" });
    assert.equal(completed.allowEvent, false);
    assert.match(completed.errorMessage, /ne répond pas/);
    assert.ok(elapsed < 1100);
  } finally { await svc.close(); }
});

test("handler: service down -> allowed with a notice", async () => {
  const svc = await service(() => response("block"));
  const base = svc.base;
  await svc.close(); // nothing listens on that port any more
  const office = createFakeOffice(draft());
  const { completed, elapsed } = await fire(office, { baseUrl: base });
  assert.deepEqual(completed, { allowEvent: true });
  assert.ok(elapsed < 2000);
  assert.equal(office.__test.notices.length, 1);
});

test("handler: malformed or failed answers are treated as an outage", async () => {
  for (const reply of [
    (res) => json(res, 200, "<html>proxy error</html>"),
    (res) => json(res, 200, { verdict: "perhaps", recipients: [] }),
    (res) => json(res, 500, { detail: "boom" }),
    (res) => json(res, 401, { detail: "bad key" }),
  ]) {
    const svc = await startServer((req, res) => (req.url === "/v1/check" ? reply(res) : json(res, 200, {})));
    try {
      const office = createFakeOffice(draft());
      const { completed } = await fire(office, { baseUrl: svc.base });
      assert.deepEqual(completed, { allowEvent: true });
      assert.equal(office.__test.notices.length, 1);
      assert.ok(!svc.requests.some((r) => r.url === "/v1/sent"));
    } finally { await svc.close(); }
  }
});

test("handler: large, inline and cloud attachments are not sent to the service", async () => {
  const svc = await service(() => response("send"));
  try {
    const big = "A".repeat(4 * 1024 * 1024);
    const office = createFakeOffice(draft({ attachments: [
      { name: "scan.pdf", size: 3 * 1024 * 1024, content: big },
      { name: "logo.png", size: 100, isInline: true, content: "iVBO" },
      { name: "dossier", size: 100, attachmentType: "cloud", format: "url", content: "https://x" },
      { name: "petit.txt", size: 12, content: "Ym9uam91cg==" },
    ] }));
    const { completed } = await fire(office, { baseUrl: svc.base });
    assert.deepEqual(completed, { allowEvent: true });
    const check = svc.requests.find((r) => r.url === "/v1/check");
    assert.deepEqual(check.body.attachments.map((a) => a.filename), ["petit.txt"]);
    assert.ok(!office.__test.calls.includes("getAttachmentContentAsync:0"), "the large file is never read");
  } finally { await svc.close(); }
});

test("handler: after a warning, replacing the flagged recipient reports changed_recipient", async () => {
  const svc = await service((req) => (req.to.some((r) => r.address === PATIENT) ? response("warn") : response("send", { check_id: "chk-2", recipients: [] })));
  try {
    const office = createFakeOffice(draft(), { mailbox: "1.13" });
    const first = await fire(office, { baseUrl: svc.base });
    assert.equal(first.completed.allowEvent, false);
    office.__test.setDraft({ to: [{ emailAddress: COLLEAGUE, displayName: "Sophie Lemaire" }] });
    const second = await fire(office, { baseUrl: svc.base });
    assert.deepEqual(second.completed, { allowEvent: true });
    const fb = svc.requests.filter((r) => r.url === "/v1/feedback");
    assert.equal(fb.length, 1);
    assert.equal(fb[0].body.action, "changed_recipient");
    assert.equal(fb[0].body.check_id, "chk-1");
    assert.equal(fb[0].body.recipient, PATIENT);
    assert.equal(fb[0].body.replaced_by, COLLEAGUE);
    assert.equal(fb[0].body.sender.address, SENDER.emailAddress);
    assert.equal(svc.requests.filter((r) => r.url === "/v1/sent").length, 1);
  } finally { await svc.close(); }
});

test("handler: after a warning, sending again unchanged confirms (sent_anyway)", async () => {
  const svc = await service(() => response("warn"));
  try {
    const office = createFakeOffice(draft(), { mailbox: "1.12" });
    const first = await fire(office, { baseUrl: svc.base });
    assert.equal(first.completed.allowEvent, false);
    assert.match(first.completed.errorMessage, /cliquez de nouveau sur Envoyer/);
    const second = await fire(office, { baseUrl: svc.base });
    assert.deepEqual(second.completed, { allowEvent: true });
    const fb = svc.requests.filter((r) => r.url === "/v1/feedback");
    assert.equal(fb.length, 1);
    assert.equal(fb[0].body.action, "sent_anyway");
    assert.equal(svc.requests.filter((r) => r.url === "/v1/sent").length, 1);
  } finally { await svc.close(); }
});

test("handler: after a warning, removing the flagged recipient reports cancelled", async () => {
  const svc = await service((req) => (req.to.some((r) => r.address === PATIENT) ? response("warn") : response("send", { recipients: [] })));
  try {
    const office = createFakeOffice(draft({ cc: [{ emailAddress: "x@cds-havre.example" }] }), { sessionData: false });
    await fire(office, { baseUrl: svc.base });
    office.__test.setDraft({ to: [] });
    const second = await fire(office, { baseUrl: svc.base });
    assert.deepEqual(second.completed, { allowEvent: true });
    const fb = svc.requests.filter((r) => r.url === "/v1/feedback");
    assert.equal(fb.length, 1);
    assert.equal(fb[0].body.action, "cancelled");
  } finally { await svc.close(); }
});

test("handler: a failing Office API never blocks the send", async () => {
  const svc = await service(() => response("send"));
  try {
    const office = createFakeOffice(draft(), { fail: { "body.getAsync": true, getAttachmentsAsync: true } });
    const { completed } = await fire(office, { baseUrl: svc.base });
    assert.deepEqual(completed, { allowEvent: true });
    const check = svc.requests.find((r) => r.url === "/v1/check");
    assert.equal(check.body.body, "");
  } finally { await svc.close(); }
});

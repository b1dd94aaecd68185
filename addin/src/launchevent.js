/*
 * misdirect Outlook add-in: the OnMessageSend (Smart Alerts) handler.
 *
 * One plain script, no import/export: classic Outlook on Windows loads this file alone in a
 * JavaScript-only runtime (no DOM, no localStorage, no cookies, absolute URLs only). Outlook on
 * the web, on Mac and new Outlook load commands.html, which loads config.js and then this file.
 *
 * Configuration (API base URL, key, fail mode, time budget) comes from the global
 * MISDIRECT_CONFIG: the service prepends it to this file when it serves /addin/launchevent.js
 * and also serves it as /addin/config.js for the HTML pages. Nothing here is deployment-specific.
 *
 * The logic lives in pure functions (buildRequest, decide, formatMessage, diffRecipients,
 * selectAttachments) exported for node tests at the bottom; the Office glue is kept thin.
 */
/* global Office, MISDIRECT_CONFIG */

var MISDIRECT_DEFAULTS = {
  baseUrl: "",
  apiKey: "",
  failMode: "open", // "open": let the message go with a notice; "closed": stop it
  timeBudgetMs: 4000, // whole handler, network included (Outlook shows a delay dialog at 5 s)
  attachmentBudgetMs: 1500, // reading attachments never eats more than this
  storageTimeoutMs: 400,
  reportWaitMs: 700, // how long /v1/sent and /v1/feedback may delay the send
  maxAttachments: 5,
  maxAttachmentBytes: 2 * 1024 * 1024,
  maxTotalAttachmentBytes: 4 * 1024 * 1024,
  maxBodyChars: 200000,
  maxSubjectChars: 4000,
  maxRecipientsPerField: 500,
  taskpaneCommandId: "misdirectOpenPane",
  noticeIconId: "Icon.16x16",
};

var ERROR_MESSAGE_MAX = 500; // Smart Alerts errorMessage limit
var CANCEL_LABEL_MAX = 20; // Mailbox 1.14 cancelLabel limit
var NOTICE_MAX = 150; // notificationMessages message limit
var STATE_PENDING = "misdirect.pending";
var STATE_LAST = "misdirect.last";

function misdirectGlobal() {
  if (typeof globalThis !== "undefined") return globalThis;
  if (typeof self !== "undefined") return self;
  if (typeof window !== "undefined") return window;
  return {};
}

/** The effective configuration: defaults overlaid with MISDIRECT_CONFIG and `override`. */
function getConfig(override) {
  var cfg = {};
  var k;
  for (k in MISDIRECT_DEFAULTS) cfg[k] = MISDIRECT_DEFAULTS[k];
  var g = misdirectGlobal();
  var injected = g.MISDIRECT_CONFIG;
  if (injected && typeof injected === "object") for (k in injected) cfg[k] = injected[k];
  if (override && typeof override === "object") for (k in override) cfg[k] = override[k];
  cfg.baseUrl = String(cfg.baseUrl || "").replace(/\/+$/, "");
  cfg.failMode = cfg.failMode === "closed" ? "closed" : "open";
  var budget = Number(cfg.timeBudgetMs);
  // Outlook warns the user after 5 s: keep a margin whatever the configuration says.
  cfg.timeBudgetMs = isFinite(budget) && budget > 0 ? Math.min(budget, 4800) : 4000;
  return cfg;
}

/* ------------------------------------------------------------------ pure helpers */

function normalizeAddress(address) {
  return String(address || "").trim().toLowerCase();
}

/** Office EmailAddressDetails (or a plain string) -> the API's recipient object, or null. */
function toRecipient(detail) {
  if (!detail) return null;
  var address = typeof detail === "string" ? detail : detail.emailAddress || detail.address || "";
  address = String(address).trim();
  if (address.indexOf("@") < 1) return null; // unresolved names, distribution lists without SMTP
  var name = typeof detail === "string" ? null : detail.displayName || detail.name || null;
  if (name && normalizeAddress(name) === normalizeAddress(address)) name = null;
  return { address: address, name: name ? String(name).slice(0, 256) : null };
}

function truncate(text, max) {
  text = String(text == null ? "" : text);
  if (text.length <= max) return text;
  if (max <= 1) return text.slice(0, max);
  return text.slice(0, max - 1) + "…";
}

var CONTENT_TYPES = {
  pdf: "application/pdf",
  csv: "text/csv",
  txt: "text/plain",
  htm: "text/html",
  html: "text/html",
  xml: "application/xml",
  json: "application/json",
  eml: "message/rfc822",
  doc: "application/msword",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xls: "application/vnd.ms-excel",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  odt: "application/vnd.oasis.opendocument.text",
  ods: "application/vnd.oasis.opendocument.spreadsheet",
  rtf: "application/rtf",
  zip: "application/zip",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
};

/** A MIME type from the file name: compose-mode attachment details carry no content type. */
function contentTypeFor(filename) {
  var m = /\.([A-Za-z0-9]+)$/.exec(String(filename || ""));
  return (m && CONTENT_TYPES[m[1].toLowerCase()]) || "application/octet-stream";
}

/**
 * Which attachments to send for content analysis: plain file attachments only (no inline
 * images, no cloud links, no attached items), each below maxAttachmentBytes, at most
 * maxAttachments of them and maxTotalAttachmentBytes in all. Returns {selected, skipped}.
 */
function selectAttachments(details, cfg) {
  cfg = cfg || MISDIRECT_DEFAULTS;
  var selected = [];
  var skipped = [];
  var total = 0;
  (details || []).forEach(function (a) {
    var type = String(a.attachmentType || "file").toLowerCase();
    var size = Number(a.size) || 0;
    var reason = null;
    if (type !== "file") reason = type === "cloud" ? "cloud" : "item";
    else if (a.isInline) reason = "inline";
    else if (size > cfg.maxAttachmentBytes) reason = "too_large";
    else if (selected.length >= cfg.maxAttachments) reason = "too_many";
    else if (total + size > cfg.maxTotalAttachmentBytes) reason = "total_too_large";
    if (reason) {
      skipped.push({ name: a.name, reason: reason });
    } else {
      selected.push(a);
      total += size;
    }
  });
  return { selected: selected, skipped: skipped };
}

/**
 * The POST /v1/check body (SPEC §4) from a draft read off the item:
 * draft = {from, to, cc, bcc, subject, body, attachments: [{name, content_base64}]}.
 */
function buildRequest(draft, cfg, now) {
  cfg = cfg || MISDIRECT_DEFAULTS;
  function field(list) {
    var out = [];
    (list || []).forEach(function (d) {
      var r = toRecipient(d);
      if (r && out.length < cfg.maxRecipientsPerField) out.push(r);
    });
    return out;
  }
  var sender = toRecipient(draft.from) || { address: "unknown@invalid.example", name: null };
  return {
    sender: sender,
    to: field(draft.to),
    cc: field(draft.cc),
    bcc: field(draft.bcc),
    subject: truncate(draft.subject || "", cfg.maxSubjectChars),
    body: String(draft.body || "").slice(0, cfg.maxBodyChars),
    body_format: "text",
    attachments: (draft.attachments || []).map(function (a) {
      return {
        filename: String(a.name || "piece-jointe").slice(0, 512),
        content_type: a.content_type || contentTypeFor(a.name),
        content_base64: a.content_base64 || "",
      };
    }),
    sent_at: (now || new Date()).toISOString(),
  };
}

/** Every recipient address of a request, normalised, in order. */
function requestAddresses(request) {
  var out = [];
  ["to", "cc", "bcc"].forEach(function (f) {
    (request[f] || []).forEach(function (r) {
      out.push(normalizeAddress(typeof r === "string" ? r : r.address));
    });
  });
  return out;
}

var VERDICTS = { send: 1, warn: 1, block: 1 };

/** The check response if it has the SPEC §4 shape, else null (garbage is treated as an outage). */
function validateResponse(resp) {
  if (!resp || typeof resp !== "object" || Array.isArray(resp)) return null;
  if (!VERDICTS[resp.verdict]) return null;
  if (!Array.isArray(resp.recipients)) return null;
  for (var i = 0; i < resp.recipients.length; i++) {
    var r = resp.recipients[i];
    if (!r || typeof r.address !== "string") return null;
    if (r.verdict !== undefined && !VERDICTS[r.verdict]) return null;
  }
  return resp;
}

/** The recipients the service objects to, riskiest first. */
function riskyRecipients(resp) {
  var list = (resp.recipients || []).filter(function (r) {
    return r.verdict === "warn" || r.verdict === "block";
  });
  if (!list.length && resp.verdict !== "send" && resp.recipients.length) {
    list = resp.recipients.slice(); // message-level verdict without a per-recipient one
  }
  return list.sort(function (a, b) {
    return (Number(b.risk) || 0) - (Number(a.risk) || 0);
  });
}

var SENSITIVE_LABELS = {
  NIR: "NIR",
  IBAN: "IBAN",
  PERSON: "personne(s) nommée(s)",
  BIRTH_DATE: "date(s) de naissance",
  PHONE: "téléphone(s)",
  HEALTH: "terme(s) médicaux",
};

function percent(risk) {
  var v = Math.round((Number(risk) || 0) * 100);
  return v + " %";
}

function stripEndPunct(text) {
  return String(text || "").replace(/[\s.;:]+$/, "");
}

/**
 * The French Smart Alerts message (≤ 500 characters) naming the risky recipients, the main
 * reason and the suggested address. opts = {mode: "warn"|"block", supports114: bool}.
 */
function formatMessage(resp, opts) {
  opts = opts || {};
  var mode = opts.mode || resp.verdict;
  var risky = riskyRecipients(resp);
  var top = risky[0] || {};
  var header =
    mode === "block"
      ? "misdirect a bloqué l'envoi : destinataire probablement erroné."
      : "misdirect : ce destinataire est peut-être une erreur.";
  var shown = risky.slice(0, 3).map(function (r) {
    return r.address + " (" + percent(r.risk) + ")";
  });
  var more = risky.length > 3 ? " et " + (risky.length - 3) + " autre(s)" : "";
  var who = shown.length ? "À vérifier : " + shown.join(", ") + more + "." : "";
  var reasonText = "";
  if (top.reasons && top.reasons.length) reasonText = stripEndPunct(top.reasons[0].message);
  var suggestion = "";
  for (var i = 0; i < risky.length; i++) {
    if (risky[i].suggestion) {
      suggestion = "Vouliez-vous écrire à " + risky[i].suggestion + " ?";
      break;
    }
  }
  var sens = [];
  var s = resp.sensitive || {};
  ["NIR", "IBAN", "BIRTH_DATE", "PHONE", "PERSON", "HEALTH"].forEach(function (k) {
    if (Number(s[k]) > 0) sens.push(s[k] + " " + SENSITIVE_LABELS[k]);
  });
  var sensitive = sens.length ? "Données sensibles : " + sens.slice(0, 4).join(", ") + "." : "";
  var footer;
  if (mode === "block") footer = "Corrigez les destinataires avant d'envoyer.";
  else if (opts.supports114) footer = "Corrigez, ou choisissez « Envoyer quand même ».";
  else footer = "Pour envoyer quand même, cliquez de nouveau sur Envoyer.";

  function assemble(reason, withSensitive) {
    return [header, who, reason ? "Motif : " + reason + "." : "", suggestion,
      withSensitive ? sensitive : "", footer]
      .filter(function (x) { return x; })
      .join("\n");
  }
  var msg = assemble(reasonText, true);
  if (msg.length > ERROR_MESSAGE_MAX) msg = assemble(reasonText, false);
  if (msg.length > ERROR_MESSAGE_MAX && reasonText) {
    var over = msg.length - ERROR_MESSAGE_MAX;
    msg = assemble(truncate(reasonText, Math.max(20, reasonText.length - over - 1)), false);
  }
  return truncate(msg, ERROR_MESSAGE_MAX);
}

/**
 * What the user did after a warning, judged from the next send of the same draft:
 * pending = {flagged: [addr], recipients: [addr], suggestion}, current = [addr].
 * Returns {action: "sent_anyway"|"changed_recipient"|"cancelled", recipient, replaced_by}.
 */
function diffRecipients(pending, current) {
  var cur = {};
  (current || []).forEach(function (a) { cur[normalizeAddress(a)] = true; });
  var before = {};
  (pending.recipients || []).forEach(function (a) { before[normalizeAddress(a)] = true; });
  var flagged = (pending.flagged || []).map(normalizeAddress);
  var missing = flagged.filter(function (a) { return !cur[a]; });
  var added = (current || []).map(normalizeAddress).filter(function (a) { return !before[a]; });
  if (!missing.length) return { action: "sent_anyway", recipient: flagged[0] || null, replaced_by: null };
  if (added.length) {
    var suggestion = normalizeAddress(pending.suggestion);
    var by = added.indexOf(suggestion) >= 0 ? suggestion : added[0];
    return { action: "changed_recipient", recipient: missing[0], replaced_by: by };
  }
  return { action: "cancelled", recipient: missing[0], replaced_by: null };
}

function sameSet(a, b) {
  if (a.length !== b.length) return false;
  var seen = {};
  a.forEach(function (x) { seen[normalizeAddress(x)] = true; });
  return b.every(function (x) { return seen[normalizeAddress(x)]; });
}

var NOTICE_UNAVAILABLE =
  "misdirect n'a pas pu vérifier les destinataires (service indisponible) : message envoyé sans vérification.";
var MESSAGE_FAIL_CLOSED =
  "misdirect n'a pas pu vérifier les destinataires : le service ne répond pas. " +
  "Réessayez dans un instant ou contactez votre administrateur.";

/**
 * The decision for one send, with no side effects. input = {response (already validated or
 * null), cfg, supports114, pending (state left by a previous warning on this draft or null),
 * request}. Returns {allow, completed, feedback, reportSent, notice, pending, last}:
 * `completed` is the event.completed() argument; `pending` is the state to keep for the next
 * send (null clears it); `feedback` the /v1/feedback body or null.
 */
function decide(input) {
  var cfg = input.cfg || getConfig();
  var resp = input.response;
  var request = input.request;
  var current = requestAddresses(request);
  var pending = input.pending || null;
  var diff = pending ? diffRecipients(pending, current) : null;
  var sender = request.sender;
  function feedbackFor(d) {
    if (!d || !pending) return null;
    return {
      check_id: pending.check_id || null,
      sender: sender,
      action: d.action,
      recipient: d.recipient,
      replaced_by: d.replaced_by,
      at: new Date().toISOString(),
    };
  }

  if (!resp) {
    if (cfg.failMode === "closed") {
      return {
        allow: false,
        completed: { allowEvent: false, errorMessage: MESSAGE_FAIL_CLOSED },
        feedback: null, reportSent: false, notice: null, pending: pending,
        last: { verdict: "unavailable", at: new Date().toISOString() },
      };
    }
    return {
      allow: true, completed: { allowEvent: true }, feedback: null, reportSent: false,
      notice: NOTICE_UNAVAILABLE, pending: null,
      last: { verdict: "unavailable", at: new Date().toISOString() },
    };
  }

  var risky = riskyRecipients(resp);
  var flagged = risky.map(function (r) { return normalizeAddress(r.address); });
  var last = {
    verdict: resp.verdict, check_id: resp.check_id || null, risk: resp.risk,
    recipients: resp.recipients, sensitive: resp.sensitive || {}, advice: resp.advice || [],
    at: new Date().toISOString(),
  };

  if (resp.verdict === "send") {
    return {
      allow: true, completed: { allowEvent: true },
      feedback: diff && diff.action !== "sent_anyway" ? feedbackFor(diff) : null,
      reportSent: true, notice: null, pending: null, last: last,
    };
  }

  // The user was warned about this draft, kept the flagged recipients and pressed Send again:
  // that is the "send anyway" confirmation (clients without the Mailbox 1.14 button need it).
  if (resp.verdict === "warn" && pending && pending.verdict === "warn" && diff &&
      diff.action === "sent_anyway" &&
      flagged.every(function (a) { return (pending.flagged || []).indexOf(a) >= 0; })) {
    last.confirmed = true;
    return {
      allow: true, completed: { allowEvent: true }, feedback: feedbackFor(diff),
      reportSent: true, notice: null, pending: null, last: last,
    };
  }

  var mode = resp.verdict === "block" ? "block" : "warn";
  var completed = {
    allowEvent: false,
    errorMessage: formatMessage(resp, { mode: mode, supports114: !!input.supports114 }),
  };
  if (input.supports114) {
    completed.cancelLabel = truncate("Corriger", CANCEL_LABEL_MAX);
    if (cfg.taskpaneCommandId) completed.commandId = cfg.taskpaneCommandId;
    if (mode === "warn") {
      var g = misdirectGlobal();
      var override =
        g.Office && g.Office.MailboxEnums && g.Office.MailboxEnums.SendModeOverride &&
        g.Office.MailboxEnums.SendModeOverride.PromptUser;
      completed.sendModeOverride = override || "promptUser";
    }
  }
  var suggestion = null;
  for (var i = 0; i < risky.length; i++) if (risky[i].suggestion) { suggestion = risky[i].suggestion; break; }
  return {
    allow: false, completed: completed,
    feedback: diff && diff.action !== "sent_anyway" ? feedbackFor(diff) : null,
    reportSent: false, notice: null,
    pending: {
      check_id: resp.check_id || null, verdict: mode, flagged: flagged, recipients: current,
      suggestion: suggestion, at: new Date().toISOString(),
    },
    last: last,
  };
}

/* ------------------------------------------------------------------ I/O */

function delay(ms, value) {
  return new Promise(function (resolve) { setTimeout(function () { resolve(value); }, ms); });
}

function withTimeout(promise, ms, label) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () { reject(new Error((label || "operation") + " timed out")); }, ms);
    promise.then(
      function (v) { clearTimeout(timer); resolve(v); },
      function (e) { clearTimeout(timer); reject(e); }
    );
  });
}

/**
 * POST JSON with a hard timeout. fetch + AbortController where the runtime has them,
 * XMLHttpRequest with its `timeout` otherwise. Resolves {status, body} (body parsed JSON or
 * null); rejects on network errors and timeouts.
 */
function postJson(url, payload, apiKey, timeoutMs) {
  var g = misdirectGlobal();
  var headers = { "Content-Type": "application/json" };
  if (apiKey) headers.Authorization = "Bearer " + apiKey;
  var data = JSON.stringify(payload);
  timeoutMs = Math.max(1, Math.floor(timeoutMs));
  function parse(status, text) {
    var body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
    return { status: status, body: body };
  }
  if (typeof g.fetch === "function") {
    var controller = typeof g.AbortController === "function" ? new g.AbortController() : null;
    var opts = { method: "POST", headers: headers, body: data, credentials: "omit" };
    if (controller) opts.signal = controller.signal;
    var call = g.fetch(url, opts).then(function (res) {
      return res.text().then(function (text) { return parse(res.status, text); });
    });
    return withTimeout(call, timeoutMs, "request").catch(function (err) {
      if (controller) { try { controller.abort(); } catch (e) { /* already settled */ } }
      throw err;
    });
  }
  if (typeof g.XMLHttpRequest === "function") {
    return new Promise(function (resolve, reject) {
      var xhr = new g.XMLHttpRequest();
      xhr.open("POST", url, true);
      Object.keys(headers).forEach(function (h) { xhr.setRequestHeader(h, headers[h]); });
      xhr.timeout = timeoutMs;
      xhr.onload = function () { resolve(parse(xhr.status, xhr.responseText)); };
      xhr.onerror = function () { reject(new Error("network error")); };
      xhr.ontimeout = function () { reject(new Error("request timed out")); };
      xhr.send(data);
    });
  }
  return Promise.reject(new Error("no HTTP client in this runtime"));
}

/** Office's callback style as a promise; rejects when the call fails or does not exist. */
function officeCall(target, method, args) {
  return new Promise(function (resolve, reject) {
    if (!target || typeof target[method] !== "function") {
      reject(new Error(method + " unavailable"));
      return;
    }
    var all = (args || []).slice();
    all.push(function (result) {
      if (result && result.status === "failed") reject(result.error || new Error(method + " failed"));
      else resolve(result ? result.value : undefined);
    });
    try {
      target[method].apply(target, all);
    } catch (e) {
      reject(e);
    }
  });
}

function officeRef() {
  var g = misdirectGlobal();
  return g.Office;
}

function currentItem() {
  var O = officeRef();
  return O && O.context && O.context.mailbox ? O.context.mailbox.item : null;
}

function supportsSet(version) {
  var O = officeRef();
  try {
    return !!(O && O.context && O.context.requirements &&
      O.context.requirements.isSetSupported("Mailbox", version));
  } catch (e) {
    return false;
  }
}

/** Reads attachment contents for the selected attachments, as many as the budget allows. */
function readAttachments(item, cfg) {
  if (!item || typeof item.getAttachmentsAsync !== "function") return Promise.resolve([]);
  var got = [];
  var work = officeCall(item, "getAttachmentsAsync", [])
    .then(function (details) {
      var chosen = selectAttachments(details || [], cfg).selected;
      if (!chosen.length || typeof item.getAttachmentContentAsync !== "function") return got;
      return Promise.all(chosen.map(function (a) {
        return officeCall(item, "getAttachmentContentAsync", [a.id])
          .then(function (content) {
            if (content && String(content.format).toLowerCase() === "base64" && content.content) {
              got.push({ name: a.name, content_type: contentTypeFor(a.name), content_base64: content.content });
            }
          })
          .catch(function () { /* one unreadable attachment must not cost the check */ });
      })).then(function () { return got; });
    })
    .catch(function () { return got; });
  // Past the attachment budget, check with what has been read so far.
  return Promise.race([work, delay(cfg.attachmentBudgetMs).then(function () { return got.slice(); })]);
}

/** Reads the draft off the compose item: sender, recipients, subject, text body, attachments. */
function readDraft(item, cfg) {
  var O = officeRef();
  function safe(p, fallback) { return p.catch(function () { return fallback; }); }
  var profile = O && O.context && O.context.mailbox && O.context.mailbox.userProfile;
  var fallbackFrom = profile ? { emailAddress: profile.emailAddress, displayName: profile.displayName } : null;
  return Promise.all([
    item.from ? safe(officeCall(item.from, "getAsync", []), fallbackFrom) : Promise.resolve(fallbackFrom),
    safe(officeCall(item.to, "getAsync", []), []),
    safe(officeCall(item.cc, "getAsync", []), []),
    safe(officeCall(item.bcc, "getAsync", []), []),
    safe(officeCall(item.subject, "getAsync", []), ""),
    safe(officeCall(item.body, "getAsync", ["text", {}]), ""),
    readAttachments(item, cfg),
  ]).then(function (v) {
    return { from: v[0] || fallbackFrom, to: v[1], cc: v[2], bcc: v[3], subject: v[4], body: v[5], attachments: v[6] };
  });
}

/* State kept between two sends of the same draft: item.sessionData (per item, Mailbox 1.11)
 * where available, else roamingSettings (per user), else this runtime's memory. Storage
 * failures only cost the feedback report, never the send. */
var memoryState = {};

function loadState(key, cfg) {
  var item = currentItem();
  var O = officeRef();
  var p;
  if (item && item.sessionData && typeof item.sessionData.getAsync === "function") {
    p = officeCall(item.sessionData, "getAsync", [key]).then(function (v) {
      return v ? JSON.parse(v) : null;
    });
  } else if (O && O.context && O.context.roamingSettings) {
    p = Promise.resolve(O.context.roamingSettings.get(key) || null);
  } else {
    p = Promise.resolve(memoryState[key] || null);
  }
  return withTimeout(p, cfg.storageTimeoutMs, "state").catch(function () {
    return memoryState[key] || null;
  });
}

function saveState(key, value, cfg) {
  memoryState[key] = value;
  var item = currentItem();
  var O = officeRef();
  var p;
  if (item && item.sessionData && typeof item.sessionData.setAsync === "function") {
    p = value == null
      ? officeCall(item.sessionData, "removeAsync", [key])
      : officeCall(item.sessionData, "setAsync", [key, JSON.stringify(value)]);
  } else if (O && O.context && O.context.roamingSettings) {
    var rs = O.context.roamingSettings;
    if (value == null) rs.remove(key);
    else rs.set(key, value);
    p = officeCall(rs, "saveAsync", []);
  } else {
    p = Promise.resolve();
  }
  return withTimeout(p, cfg.storageTimeoutMs, "state").catch(function () { return null; });
}

function addNotice(text, cfg) {
  var item = currentItem();
  if (!item || !item.notificationMessages) return Promise.resolve();
  var O = officeRef();
  var type =
    (O && O.MailboxEnums && O.MailboxEnums.ItemNotificationMessageType &&
      O.MailboxEnums.ItemNotificationMessageType.InformationalMessage) || "informationalMessage";
  var p = officeCall(item.notificationMessages, "addAsync", ["misdirectNotice", {
    type: type, message: truncate(text, NOTICE_MAX), icon: cfg.noticeIconId, persistent: false,
  }]);
  return withTimeout(p, 250, "notice").catch(function () { return null; });
}

/** Runs one check of the current draft: {request, response (validated or null), error}. */
function checkCurrentDraft(cfg, deadline) {
  var item = currentItem();
  if (!item) return Promise.reject(new Error("no mail item"));
  return readDraft(item, cfg).then(function (draft) {
    var request = buildRequest(draft, cfg);
    if (!cfg.baseUrl) return { request: request, response: null, error: "no baseUrl configured" };
    var left = deadline - Date.now() - 150; // keep time to call event.completed
    if (left <= 0) return { request: request, response: null, error: "time budget spent reading the draft" };
    return postJson(cfg.baseUrl + "/v1/check", request, cfg.apiKey, left).then(
      function (res) {
        if (res.status < 200 || res.status >= 300) {
          return { request: request, response: null, error: "HTTP " + res.status };
        }
        var valid = validateResponse(res.body);
        return { request: request, response: valid, error: valid ? null : "malformed response" };
      },
      function (err) { return { request: request, response: null, error: String(err && err.message || err) }; }
    );
  });
}

/**
 * The OnMessageSend handler. Always ends with exactly one event.completed() within the time
 * budget, whatever fails: an outage must never trap the user (fail open) unless the
 * administrator chose fail-closed.
 */
function onMessageSendHandler(event, override) {
  var cfg = getConfig(override);
  var started = Date.now();
  var deadline = started + cfg.timeBudgetMs;
  var finished = false;
  var watchdog = null;
  var result = { outcome: null, error: null };

  function complete(options) {
    if (finished) return;
    finished = true;
    if (watchdog) clearTimeout(watchdog);
    result.options = options;
    result.elapsedMs = Date.now() - started;
    try {
      event.completed(options);
    } catch (e) {
      /* nothing more can be done once Outlook refuses the completion */
    }
  }

  function failSafe(reason) {
    result.error = reason;
    if (cfg.failMode === "closed") {
      complete({ allowEvent: false, errorMessage: MESSAGE_FAIL_CLOSED });
    } else {
      addNotice(NOTICE_UNAVAILABLE, cfg);
      complete({ allowEvent: true });
    }
  }

  var done = new Promise(function (resolve) {
    watchdog = setTimeout(function () {
      failSafe("time budget exceeded");
      resolve(result);
    }, cfg.timeBudgetMs);

    Promise.all([checkCurrentDraft(cfg, deadline), loadState(STATE_PENDING, cfg)])
      .then(function (v) {
        var checked = v[0];
        result.error = checked.error;
        var plan = decide({
          response: checked.response, cfg: cfg, supports114: supportsSet("1.14"),
          pending: v[1], request: checked.request,
        });
        result.plan = plan;
        var reports = [saveState(STATE_PENDING, plan.pending, cfg), saveState(STATE_LAST, plan.last, cfg)];
        if (plan.feedback) {
          reports.push(postJson(cfg.baseUrl + "/v1/feedback", plan.feedback, cfg.apiKey, cfg.reportWaitMs)
            .catch(function () { return null; }));
        }
        if (plan.reportSent) {
          var sent = {};
          for (var k in checked.request) sent[k] = checked.request[k];
          sent.attachments = []; // the history needs who, when and the topic, not the files
          reports.push(postJson(cfg.baseUrl + "/v1/sent", sent, cfg.apiKey, cfg.reportWaitMs)
            .catch(function () { return null; }));
        }
        if (plan.notice) reports.push(addNotice(plan.notice, cfg));
        // Code after completed() may never run: report first, bounded by what is left.
        var left = Math.max(0, Math.min(cfg.reportWaitMs, deadline - Date.now() - 100));
        return Promise.race([Promise.all(reports), delay(left)]).then(function () {
          complete(plan.completed);
        });
      })
      .catch(function (err) {
        failSafe(String(err && err.message || err));
      })
      .then(function () { resolve(result); });
  });
  return done;
}

var g_misdirect = misdirectGlobal();
g_misdirect.onMessageSendHandler = onMessageSendHandler;
g_misdirect.MisdirectAddin = {
  getConfig: getConfig, buildRequest: buildRequest, decide: decide, formatMessage: formatMessage,
  diffRecipients: diffRecipients, validateResponse: validateResponse, riskyRecipients: riskyRecipients,
  checkCurrentDraft: checkCurrentDraft, loadState: loadState, saveState: saveState,
  STATE_LAST: STATE_LAST, onMessageSendHandler: onMessageSendHandler,
};

// Without this call a soft-block add-in blocks every send in classic Outlook on Windows.
if (typeof Office !== "undefined" && Office.actions && typeof Office.actions.associate === "function") {
  Office.actions.associate("onMessageSendHandler", onMessageSendHandler);
}

if (typeof module !== "undefined" && module.exports) {
  module.exports = {
    MISDIRECT_DEFAULTS: MISDIRECT_DEFAULTS, ERROR_MESSAGE_MAX: ERROR_MESSAGE_MAX,
    CANCEL_LABEL_MAX: CANCEL_LABEL_MAX, STATE_PENDING: STATE_PENDING, STATE_LAST: STATE_LAST,
    getConfig: getConfig, toRecipient: toRecipient, truncate: truncate, contentTypeFor: contentTypeFor,
    selectAttachments: selectAttachments, buildRequest: buildRequest, requestAddresses: requestAddresses,
    validateResponse: validateResponse, riskyRecipients: riskyRecipients, formatMessage: formatMessage,
    diffRecipients: diffRecipients, decide: decide, postJson: postJson, readDraft: readDraft,
    onMessageSendHandler: onMessageSendHandler, sameSet: sameSet,
  };
}

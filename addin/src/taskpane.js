/*
 * misdirect task pane: shows the last verdict for this draft (kept by launchevent.js in the
 * item's session data) with its reasons in French, and can check the draft on demand.
 * Opened from the ribbon button or from the Smart Alerts "Corriger" button (commandId).
 * Service data is written with textContent only, never as HTML.
 */
/* global Office, MisdirectAddin */
(function () {
  var TITLES = {
    send: "Aucun risque détecté : le message peut partir.",
    warn: "Attention : un destinataire est peut-être une erreur.",
    block: "Envoi bloqué : destinataire probablement erroné.",
    unavailable: "Le service de vérification n'a pas répondu.",
  };
  var SENSITIVE = {
    NIR: "NIR", IBAN: "IBAN", PERSON: "personne(s) nommée(s)", BIRTH_DATE: "date(s) de naissance",
    PHONE: "téléphone(s)", HEALTH: "terme(s) médicaux",
  };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function pct(risk) {
    return Math.round((Number(risk) || 0) * 100) + " %";
  }

  /** Renders a verdict ({verdict, recipients, sensitive, advice, confirmed}) into the page. */
  function render(last) {
    var status = document.getElementById("status");
    var verdict = last && last.verdict ? last.verdict : "none";
    status.className = "status status-" + verdict;
    document.getElementById("status-title").textContent =
      TITLES[verdict] || "Aucune vérification pour ce message.";
    var detail = "";
    if (verdict === "warn" || verdict === "block") {
      var n = (last.recipients || []).filter(function (r) { return r.verdict !== "send"; }).length;
      detail = n + " destinataire(s) à vérifier · risque maximal " + pct(last.risk) + ".";
      if (last.confirmed) detail += " Envoi confirmé par l'utilisateur.";
    } else if (verdict === "send") {
      detail = "Risque maximal " + pct(last.risk) + ".";
    } else if (verdict === "unavailable") {
      detail = "Le message a été traité selon la politique de l'organisation (envoi sans vérification ou blocage).";
    } else {
      detail = "Cliquez sur « Vérifier maintenant » ou envoyez le message.";
    }
    document.getElementById("status-detail").textContent = detail;

    var list = document.getElementById("recipients");
    list.textContent = "";
    var recipients = (last && last.recipients) || [];
    recipients = recipients.slice().sort(function (a, b) { return (b.risk || 0) - (a.risk || 0); });
    recipients.forEach(function (r) {
      var li = el("li", "recipient v-" + (r.verdict || "send"));
      li.appendChild(el("span", "risk", pct(r.risk)));
      li.appendChild(el("span", "addr", r.address + (r.field && r.field !== "to" ? " (" + r.field + ")" : "")));
      var bar = el("div", "bar");
      var fill = el("span");
      fill.style.width = Math.max(2, Math.round((Number(r.risk) || 0) * 100)) + "%";
      bar.appendChild(fill);
      li.appendChild(bar);
      (r.reasons || []).forEach(function (reason) { li.appendChild(el("p", "reason", "• " + reason.message)); });
      if (r.suggestion) li.appendChild(el("p", "suggestion", "Adresse suggérée : " + r.suggestion));
      list.appendChild(li);
    });
    document.getElementById("recipients-section").hidden = recipients.length === 0;

    var sens = [];
    var s = (last && last.sensitive) || {};
    Object.keys(SENSITIVE).forEach(function (k) { if (Number(s[k]) > 0) sens.push(s[k] + " " + SENSITIVE[k]); });
    document.getElementById("sensitive").textContent = sens.join(", ") + (sens.length ? "." : "");
    document.getElementById("sensitive-section").hidden = sens.length === 0;

    var advice = document.getElementById("advice");
    advice.textContent = "";
    ((last && last.advice) || []).forEach(function (a) { advice.appendChild(el("li", null, a)); });
    document.getElementById("advice-section").hidden = advice.childNodes.length === 0;
  }

  /** Reloads the last verdict stored for this draft and renders it. */
  function refresh() {
    var cfg = MisdirectAddin.getConfig();
    return MisdirectAddin.loadState(MisdirectAddin.STATE_LAST, cfg).then(function (last) {
      render(last);
      return last;
    });
  }

  /** Checks the draft now, without sending it. */
  function checkNow() {
    var cfg = MisdirectAddin.getConfig();
    var button = document.getElementById("check-now");
    button.disabled = true;
    return MisdirectAddin.checkCurrentDraft(cfg, Date.now() + cfg.timeBudgetMs)
      .then(function (checked) {
        var resp = checked.response;
        var last = resp
          ? { verdict: resp.verdict, risk: resp.risk, recipients: resp.recipients, sensitive: resp.sensitive, advice: resp.advice }
          : { verdict: "unavailable" };
        render(last);
        return last;
      })
      .catch(function () { render({ verdict: "unavailable" }); })
      .then(function (last) { button.disabled = false; return last; });
  }

  window.MisdirectTaskpane = { render: render, refresh: refresh, checkNow: checkNow };

  function start() {
    document.getElementById("check-now").addEventListener("click", checkNow);
    refresh();
  }
  if (typeof Office !== "undefined" && typeof Office.onReady === "function") {
    Office.onReady(function () {
      if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
      else start();
    });
  }
})();

/*
 * A hand-made fake of the Office.js surface the add-in uses (Outlook compose item, Mailbox
 * requirement sets, actions.associate, sessionData, notificationMessages). Works in node
 * (require) and in a browser page (window.createFakeOffice), so the unit tests and the
 * end-to-end test drive the same fake.
 *
 * draft = {from: {emailAddress, displayName}, to/cc/bcc: [{emailAddress, displayName}],
 *          subject, body, attachments: [{id, name, size, attachmentType, isInline, content}]}
 * options = {mailbox: "1.14" (highest supported Mailbox set), sessionData: true, fail: {method: true}}
 */
(function (root) {
  function createFakeOffice(draft, options) {
    options = options || {};
    var maxMailbox = options.mailbox || "1.14";
    var fail = options.fail || {};
    var handlers = {};
    var session = {};
    var notices = [];
    var calls = [];

    function later(cb, value, method) {
      calls.push(method);
      setTimeout(function () {
        if (fail[method]) cb({ status: "failed", error: { message: method + " failed" } });
        else cb({ status: "succeeded", value: value });
      }, options.latencyMs || 0);
    }
    function lastFn(args) {
      for (var i = args.length - 1; i >= 0; i--) if (typeof args[i] === "function") return args[i];
      return function () {};
    }
    function prop(getValue, name) {
      return { getAsync: function () { later(lastFn(arguments), getValue(), name + ".getAsync"); } };
    }
    function versionAtMost(v, max) {
      var a = v.split(".").map(Number);
      var b = max.split(".").map(Number);
      return a[0] < b[0] || (a[0] === b[0] && a[1] <= b[1]);
    }

    var item = {
      itemType: "message",
      from: prop(function () { return draft.from; }, "from"),
      to: prop(function () { return draft.to || []; }, "to"),
      cc: prop(function () { return draft.cc || []; }, "cc"),
      bcc: prop(function () { return draft.bcc || []; }, "bcc"),
      subject: prop(function () { return draft.subject || ""; }, "subject"),
      body: prop(function () { return draft.body || ""; }, "body"),
      getAttachmentsAsync: function () {
        var list = (draft.attachments || []).map(function (a, i) {
          return {
            id: a.id || String(i), name: a.name, size: a.size != null ? a.size : (a.content || "").length,
            attachmentType: a.attachmentType || "file", isInline: !!a.isInline,
          };
        });
        later(lastFn(arguments), list, "getAttachmentsAsync");
      },
      getAttachmentContentAsync: function (id) {
        var cb = lastFn(arguments);
        var found = (draft.attachments || []).filter(function (a, i) { return (a.id || String(i)) === id; })[0];
        calls.push("getAttachmentContentAsync:" + id);
        later(cb, found ? { format: found.format || "base64", content: found.content || "" } : null,
          "getAttachmentContentAsync");
      },
      notificationMessages: {
        addAsync: function (key, details) {
          notices.push({ key: key, details: details });
          later(lastFn(arguments), undefined, "notificationMessages.addAsync");
        },
      },
    };
    if (options.sessionData !== false) {
      item.sessionData = {
        getAsync: function (name) { later(lastFn(arguments), session[name] || "", "sessionData.getAsync"); },
        setAsync: function (name, value) { session[name] = value; later(lastFn(arguments), undefined, "sessionData.setAsync"); },
        removeAsync: function (name) { delete session[name]; later(lastFn(arguments), undefined, "sessionData.removeAsync"); },
      };
    }

    var Office = {
      AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
      CoercionType: { Text: "text", Html: "html" },
      MailboxEnums: {
        SendModeOverride: { PromptUser: "promptUser" },
        ItemNotificationMessageType: { InformationalMessage: "informationalMessage" },
        AttachmentType: { File: "file", Item: "item", Cloud: "cloud" },
        AttachmentContentFormat: { Base64: "base64", Url: "url", Eml: "eml", ICalendar: "iCalendar" },
      },
      actions: { associate: function (name, fn) { handlers[name] = fn; } },
      context: {
        requirements: {
          isSetSupported: function (name, version) {
            return name === "Mailbox" && versionAtMost(version || "1.1", maxMailbox);
          },
        },
        mailbox: {
          item: item,
          userProfile: { emailAddress: draft.from && draft.from.emailAddress, displayName: draft.from && draft.from.displayName },
        },
      },
      onReady: function (cb) {
        var info = { host: "Outlook", platform: "OfficeOnline" };
        if (cb) setTimeout(function () { cb(info); }, 0);
        return Promise.resolve(info);
      },
      // Test helpers (not part of Office.js).
      __test: {
        draft: draft, session: session, notices: notices, calls: calls, handlers: handlers,
        setDraft: function (d) { for (var k in d) draft[k] = d[k]; },
        /** Fires the associated handler like Outlook does; resolves with event.completed's argument. */
        fireSend: function (name) {
          name = name || "onMessageSendHandler";
          return new Promise(function (resolve, reject) {
            var fn = handlers[name];
            if (!fn) { reject(new Error("no handler associated for " + name)); return; }
            var event = { type: "messageSending", completed: function (opts) { resolve(opts); } };
            fn(event);
          });
        },
      },
    };
    return Office;
  }
  if (typeof module !== "undefined" && module.exports) module.exports = { createFakeOffice: createFakeOffice };
  else root.createFakeOffice = createFakeOffice;
})(typeof globalThis !== "undefined" ? globalThis : this);

// Keyboard shortcuts for people who live in the inbox: j/k move, Enter opens, x selects,
// / searches; on the suggestions to approve, j/k move, a approves, r rejects, e edits. Plus
// "select all", a live character count on the reply box, and live pages.
(function () {
  "use strict";
  function rows() { return Array.prototype.slice.call(document.querySelectorAll(".thread-link, .suggestion")); }
  function typing(e) { var t = e.target; return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable); }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
    var list = rows();
    var at = list.indexOf(document.activeElement);
    if (e.key === "j" || e.key === "k") {
      if (!list.length) return;
      var next = e.key === "j" ? Math.min(at + 1, list.length - 1) : Math.max(at - 1, 0);
      list[next].focus();
      e.preventDefault();
    } else if ((e.key === "a" || e.key === "r") && at >= 0 && list[at].matches(".suggestion")) {
      var button = list[at].querySelector("button[data-key=" + e.key + "]");
      if (button) { button.click(); e.preventDefault(); }
    } else if (e.key === "e" && at >= 0 && list[at].matches(".suggestion")) {
      var text = list[at].querySelector("textarea");
      if (text) { text.focus(); text.setSelectionRange(text.value.length, text.value.length); e.preventDefault(); }
    } else if (e.key === "x" && at >= 0) {
      var box = list[at].parentElement.querySelector("input[type=checkbox]");
      if (box) box.checked = !box.checked;
      e.preventDefault();
    } else if (e.key === "/") {
      var q = document.getElementById("q");
      if (q) { q.focus(); e.preventDefault(); }
    }
  });
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("select[data-autosubmit]")) {
      e.target.form.submit();
      return;
    }
    if (e.target.matches && e.target.matches("[data-select-all]")) {
      document.querySelectorAll("#thread-list input[name=ids]").forEach(function (b) { b.checked = e.target.checked; });
    }
  });
  // The live list does not refresh under someone who is selecting threads or moving through
  // them with the keyboard (it would lose their place). (A listener, not an hx-trigger
  // filter: filters need eval, which the content security policy forbids.)
  document.addEventListener("htmx:confirm", function (e) {
    var list = e.target;
    if (list.hasAttribute && list.hasAttribute("data-pause-when-selected") &&
        (list.querySelector("input:checked") || list.contains(document.activeElement))) {
      e.preventDefault();
    }
  });
  // Live pages: the server says what changed in this workspace (server-sent events; the
  // browser reconnects by itself), and the parts that show it refresh at once instead of at
  // their next timer. The list still does not refresh under someone selecting threads. A
  // hidden tab lets go of its connection (browsers allow a handful per server) and catches up
  // when it is shown again.
  if (window.EventSource && window.htmx && document.querySelector("[data-live]")) {
    var source = null;
    var state = function (s) { document.documentElement.setAttribute("data-live-state", s); };
    // At most one refresh every two seconds per kind, so a busy inbox does not move under
    // the reader: the first change shows at once, later ones together.
    var last = {}, waiting = {};
    var changed = function (kind) {
      if (waiting[kind]) return;
      var wait = Math.max(0, (last[kind] || 0) + 2000 - Date.now());
      waiting[kind] = setTimeout(function () {
        waiting[kind] = null;
        last[kind] = Date.now();
        document.querySelectorAll("[data-live~=" + kind + "]").forEach(function (el) {
          window.htmx.trigger(el, "unibox:live");
        });
      }, wait);
    };
    var listen = function () {
      source = new EventSource("/live");
      source.addEventListener("open", function () { state("open"); });
      source.addEventListener("error", function () { state("reconnecting"); });
      ["messages", "delivery"].forEach(function (kind) {
        source.addEventListener(kind, function () { changed(kind); });
      });
    };
    document.addEventListener("visibilitychange", function () {
      if (document.hidden && source) {
        source.close();
        source = null;
        state("paused");
      } else if (!document.hidden && !source) {
        listen();
        changed("messages");
        changed("delivery");
      }
    });
    if (!document.hidden) listen();
  }
  // A reply longer than the platform takes is never cut: the box says how much is over and
  // the button waits until it fits. Characters are counted as the platforms count them.
  document.addEventListener("input", function (e) {
    var area = e.target;
    if (!area.matches || !area.matches("textarea[data-max]")) return;
    var max = parseInt(area.getAttribute("data-max"), 10);
    var n = Array.from(area.value).length;
    var over = n > max;
    var hint = document.getElementById("reply-hint");
    if (hint) {
      hint.setAttribute("data-count", n + " / " + max + (over ? " — " + (n - max) + " too many; shorten it to send" : ""));
      hint.classList.toggle("over", over);
    }
    area.setAttribute("aria-invalid", over ? "true" : "false");
    var button = area.form && area.form.querySelector("button[type=submit]");
    if (button) button.disabled = over;
  });
})();

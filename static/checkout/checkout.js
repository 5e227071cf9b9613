// Hosted checkout behaviour: the expiry countdown, learning of completion without a reload,
// and talking to the JS SDK's modal when embedded. No dependencies, no inline script (CSP).
(function () {
  "use strict";
  var body = document.body;
  var paymentId = body.getAttribute("data-payment");
  var status = body.getAttribute("data-status");
  var embedOrigin = body.getAttribute("data-embed-origin");
  var redirect = body.getAttribute("data-redirect") || undefined;
  // The page's own URL for this payment; form posts land on /pay/{id}/<action>, which must
  // not be re-requested with GET. The query string carries the embed parameters.
  var pageUrl = "/pay/" + encodeURIComponent(paymentId) + window.location.search;

  function post(message) {
    // Only ever to the exact origin the server accepted for embedding, never "*".
    if (!embedOrigin || window.parent === window) return;
    message.source = "hundi";
    window.parent.postMessage(message, embedOrigin);
  }

  if (embedOrigin) {
    if (status === "succeeded") {
      post({ type: "success", payment: paymentId, redirect: redirect });
    } else if (status === "canceled") {
      post({ type: "cancel", payment: paymentId, redirect: redirect });
    }
    var sendSize = function () {
      post({ type: "resize", height: document.documentElement.scrollHeight });
    };
    window.addEventListener("load", sendSize);
    window.addEventListener("resize", sendSize);
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape") post({ type: "close" });
    });
  }

  // Processing: once a form is sent, its button says so and cannot be pressed twice.
  Array.prototype.forEach.call(document.querySelectorAll("form.method-form"), function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
        button.textContent = body.getAttribute("data-processing") || "Processing…";
      }
      body.classList.add("processing");
    });
  });

  // Numbers and dates in the page's language (its digits: Bengali, Arabic-Indic…), as the
  // server wrote them; without Intl, in 0-9.
  var lang = document.documentElement.lang || "en";
  var digits = function (width) {
    try {
      var f = new Intl.NumberFormat(lang, { minimumIntegerDigits: width, useGrouping: false });
      return function (n) { return f.format(n); };
    } catch (e) {
      return function (n) { var t = String(n); while (t.length < width) t = "0" + t; return t; };
    }
  };
  var one = digits(1), two = digits(2);

  // A moment the server wrote in UTC, rewritten in the customer's own time zone.
  Array.prototype.forEach.call(document.querySelectorAll("time[datetime]"), function (el) {
    try {
      el.textContent = new Intl.DateTimeFormat(lang, { dateStyle: "long", timeStyle: "short" })
        .format(new Date(el.getAttribute("datetime")));
    } catch (e) { /* keep the server's words */ }
  });

  var countdown = document.getElementById("countdown");
  if (countdown) {
    var expiresAt = Date.parse(countdown.getAttribute("data-expires-at"));
    var tick = function () {
      var left = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      countdown.textContent = (h > 0 ? one(h) + ":" + two(m) : two(m)) + ":" + two(s);
      if (left === 0) {
        window.clearInterval(timer);
        // Give the server a moment to settle the expiry, then show it.
        window.setTimeout(function () { window.location.replace(pageUrl); }, 500);
      }
    };
    var timer = window.setInterval(tick, 1000);
    tick();
  }

  if (status === "pending" || status === "processing") {
    var statusUrl = "/pay/" + encodeURIComponent(paymentId);
    var finished = function (next) {
      return next && next !== "pending" && next !== status;
    };
    // Slow polling: only when the page cannot keep a stream open (an old browser, or the
    // server has too many pages waiting and answered 503).
    var poll = function () {
      fetch(statusUrl + "/status", { cache: "no-store" })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          if (finished(s.status)) {
            window.location.replace(pageUrl);
          } else {
            window.setTimeout(poll, 5000);
          }
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    };
    if (typeof window.EventSource !== "function") {
      window.setTimeout(poll, 5000);
    } else {
      // One long-lived request the server answers when the payment changes; the browser
      // opens it again by itself after a dropped connection or the server's timeout.
      var stream = new window.EventSource(statusUrl + "/events");
      stream.addEventListener("status", function (e) {
        var s = {};
        try { s = JSON.parse(e.data); } catch (ignored) { return; }
        if (finished(s.status)) {
          stream.close();
          window.location.replace(pageUrl);
        }
      });
      stream.onerror = function () {
        // CLOSED: refused (503) or not a stream at all; the browser will not retry.
        if (stream.readyState === window.EventSource.CLOSED) {
          window.setTimeout(poll, 5000);
        }
      };
    }
  }
})();

/* Pakhi Pay's hosted-checkout SDK, served by Hundi at /static/js/pakhipay-sdk.js with the API
 * of Pakhi Pay's document: PakhiPay({apiKey, baseUrl}).checkout({amount, customerName,
 * customerEmail, orderId, successUrl, cancelUrl, callbackUrl}). It creates the payment through
 * the Pakhi Pay dialect (which answers CORS) and opens Hundi's checkout in a modal with
 * Hundi's own SDK (/js/hundi.js, loaded from the same host). No other dependency. */
(function () {
  "use strict";
  if (window.PakhiPay) return;

  // currentScript is only set while this file first runs: remember where it came from.
  var scriptOrigin = (function () {
    try {
      return new URL(document.currentScript.src).origin;
    } catch (e) {
      return window.location.origin;
    }
  })();

  function loadHundi(base) {
    return new Promise(function (resolve, reject) {
      if (window.Hundi) return resolve(window.Hundi);
      var s = document.createElement("script");
      s.src = base + "/js/hundi.js";
      s.async = true;
      s.onload = function () { window.Hundi ? resolve(window.Hundi) : reject(new Error("Hundi SDK missing")); };
      s.onerror = function () { reject(new Error("could not load " + s.src)); };
      document.head.appendChild(s);
    });
  }

  function PakhiPay(options) {
    var opts = options || {};
    var base = String(opts.baseUrl || scriptOrigin).replace(/\/+$/, "");
    return {
      /* Resolves with the create response once the modal is open; the page then follows the
       * checkout: to successUrl (with transaction_id) after payment, to cancelUrl on cancel. */
      checkout: function (c) {
        var p = c || {};
        return fetch(base + "/api/request/payment/create/", {
          method: "POST",
          headers: { "api-key": opts.apiKey, "Content-Type": "application/json" },
          body: JSON.stringify({
            cus_name: p.customerName,
            cus_email: p.customerEmail,
            amount: p.amount,
            order_id: p.orderId,
            success_url: p.successUrl,
            cancel_url: p.cancelUrl,
            callback_url: p.callbackUrl
          })
        })
          .then(function (r) { return r.json(); })
          .then(function (res) {
            if (res.status !== 1) throw new Error(res.message || "payment could not be created");
            return loadHundi(base).then(function (Hundi) {
              Hundi.open(res.payment_url, {
                onSuccess: function (r) { window.location.href = r.redirect || p.successUrl; },
                onCancel: function (r) { window.location.href = r.redirect || p.cancelUrl; }
              });
              return res;
            });
          });
      }
    };
  }

  window.PakhiPay = PakhiPay;
})();

/*! Hundi browser SDK v1 - opens Hundi's hosted checkout in a modal iframe.
 *
 *   <script src="https://HUNDI_HOST/js/hundi.js"></script>
 *   var handle = Hundi.open("pay_0192...", {
 *     onSuccess: function (r) { location.href = r.redirect || "/thanks"; },
 *     onCancel:  function (r) { ... },
 *     onClose:   function ()  { ... }
 *   });
 *   handle.close();
 *
 * Plain ES2017, no dependencies, no network requests of its own.
 */
(function () {
  "use strict";

  if (typeof window === "undefined" || typeof document === "undefined") return;

  var VERSION = "1";

  // Loading the file twice (e.g. two widgets on one page) must not replace the
  // live object: a modal opened through the first copy keeps working.
  if (window.Hundi && window.Hundi.version === VERSION) return;

  var PREFIX = "hundi-";
  var STYLE_ID = PREFIX + "style";
  var NARROW_MAX = 480; // px; at or below this the modal fills the screen
  var DEFAULT_HEIGHT = 640; // px
  var MIN_HEIGHT = 400; // px
  var VIEWPORT_MARGIN = 32; // px kept free around the modal on desktop
  var BARE_ID = /^[A-Za-z0-9_-]+$/;

  // document.currentScript is only set while this file is first executing;
  // by the time a merchant calls Hundi.open() (a click handler, later) it is
  // null or points at some other script. So capture it now. Bare payment ids
  // resolve against the Hundi host that served this file, not the merchant page.
  var baseOrigin = (function () {
    try {
      var s = document.currentScript;
      if (s && s.src) {
        var u = new URL(s.src, window.location.href);
        if (u.protocol === "https:" || u.protocol === "http:") return u.origin;
      }
    } catch (e) {
      /* fall through */
    }
    return window.location.origin;
  })();

  var current = null; // the one open modal, if any

  function safeCall(fn, arg) {
    if (typeof fn !== "function") return;
    try {
      fn(arg);
    } catch (e) {
      // A broken merchant callback must not leave the modal (or the SDK) stuck.
      if (window.console && console.error) console.error("Hundi: callback threw", e);
    }
  }

  function checkoutUrlFor(target) {
    if (typeof target !== "string" || !target.trim()) {
      throw new TypeError("Hundi.open: expected a checkout URL or a payment id");
    }
    target = target.trim();
    var url;
    if (BARE_ID.test(target)) {
      url = new URL("/pay/" + encodeURIComponent(target), baseOrigin);
    } else {
      try {
        url = new URL(target);
      } catch (e) {
        throw new TypeError("Hundi.open: invalid checkout URL: " + target);
      }
      // Never load javascript:, data:, etc. into the frame.
      if (url.protocol !== "https:" && url.protocol !== "http:") {
        throw new TypeError("Hundi.open: checkout URL must be http(s): " + target);
      }
    }
    return url;
  }

  // Only hand http(s) redirect URLs to the merchant: they are likely to be
  // assigned to location.href, where a javascript: URL would be script injection.
  function safeRedirect(value) {
    if (typeof value !== "string" || !value) return undefined;
    try {
      var u = new URL(value, window.location.href);
      if (u.protocol === "https:" || u.protocol === "http:") return u.href;
    } catch (e) {
      /* ignore */
    }
    return undefined;
  }

  function ensureStyle() {
    if (document.getElementById(STYLE_ID)) return;
    var css =
      "." + PREFIX + "backdrop{position:fixed;top:0;right:0;bottom:0;left:0;" +
      "z-index:2147483647;background:rgba(17,24,39,.6);display:flex;" +
      "overflow:auto;padding:16px;box-sizing:border-box;margin:0;" +
      "-webkit-overflow-scrolling:touch}" +
      // margin:auto (not align-items:center) keeps the top reachable when the
      // dialog is taller than the viewport.
      "." + PREFIX + "dialog{position:relative;margin:auto;width:100%;" +
      "max-width:440px;background:#fff;border-radius:12px;overflow:hidden;" +
      "box-shadow:0 10px 40px rgba(0,0,0,.25),0 2px 8px rgba(0,0,0,.12);" +
      "box-sizing:border-box;padding:0;outline:none}" +
      "." + PREFIX + "frame{display:block;border:0;margin:0;padding:0;" +
      "width:100%;height:" + DEFAULT_HEIGHT + "px;background:#fff}" +
      "." + PREFIX + "close{position:absolute;top:8px;right:8px;z-index:1;" +
      "width:32px;height:32px;margin:0;padding:0;border:0;border-radius:16px;" +
      "background:rgba(255,255,255,.92);color:#374151;font:400 22px/32px " +
      "system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;text-align:center;" +
      "cursor:pointer;box-shadow:0 1px 3px rgba(0,0,0,.2)}" +
      "." + PREFIX + "close:hover{background:#f3f4f6}" +
      "." + PREFIX + "close:focus-visible{outline:2px solid #2563eb;outline-offset:2px}" +
      "@media (max-width:" + NARROW_MAX + "px){" +
      "." + PREFIX + "backdrop{padding:0}" +
      "." + PREFIX + "dialog{max-width:none;width:100vw;height:100vh;" +
      "height:100dvh;border-radius:0;margin:0;box-shadow:none}" +
      "." + PREFIX + "frame{height:100%!important}}";
    var style = document.createElement("style");
    style.id = STYLE_ID;
    style.textContent = css;
    (document.head || document.documentElement).appendChild(style);
  }

  function isNarrow() {
    return (window.innerWidth || 0) <= NARROW_MAX;
  }

  function open(target, options) {
    var opts = options || {};
    var checkoutUrl = checkoutUrlFor(target);
    // The only origin allowed to talk to us for this modal (and the only
    // targetOrigin we would ever post to): the checkout's exact origin.
    var checkoutOrigin = checkoutUrl.origin;

    var src = new URL(checkoutUrl.href);
    src.searchParams.set("embed", "1");
    // URLSearchParams percent-encodes it (":" -> %3A, "/" -> %2F).
    src.searchParams.set("origin", window.location.origin);

    // One modal at a time: the previous one is closed as if dismissed.
    if (current) current.close();

    ensureStyle();

    var backdrop = document.createElement("div");
    backdrop.className = PREFIX + "backdrop";

    var dialog = document.createElement("div");
    dialog.className = PREFIX + "dialog";
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    dialog.setAttribute("aria-label", "Hundi checkout");
    dialog.tabIndex = -1;

    var closeBtn = document.createElement("button");
    closeBtn.type = "button";
    closeBtn.className = PREFIX + "close";
    closeBtn.setAttribute("aria-label", "Close");
    closeBtn.textContent = "\u00d7";

    var iframe = document.createElement("iframe");
    iframe.className = PREFIX + "frame";
    iframe.title = "Hundi checkout";
    iframe.setAttribute("allow", "payment");
    iframe.src = src.href;

    dialog.appendChild(closeBtn);
    dialog.appendChild(iframe);
    backdrop.appendChild(dialog);

    var body = document.body;
    var root = document.documentElement;
    var prevFocus = document.activeElement;
    var prevBodyOverflow = body.style.overflow;
    var prevRootOverflow = root.style.overflow;
    var requestedHeight = null;
    var done = false;
    var settled = false; // an outcome (success/cancel) was reported

    function applyHeight() {
      if (isNarrow()) {
        iframe.style.height = ""; // the stylesheet makes it fill the screen
        return;
      }
      if (requestedHeight == null) return;
      var max = (window.innerHeight || DEFAULT_HEIGHT) - VIEWPORT_MARGIN;
      var h = Math.max(MIN_HEIGHT, Math.min(requestedHeight, max));
      iframe.style.height = Math.round(h) + "px";
    }

    // Tear down this modal's DOM and listeners; idempotent. Returns false if
    // it was already torn down.
    function teardown() {
      if (done) return false;
      done = true;
      window.removeEventListener("message", onMessage);
      window.removeEventListener("resize", applyHeight);
      document.removeEventListener("keydown", onKeydown, true);
      document.removeEventListener("focusin", onFocusin, true);
      if (backdrop.parentNode) backdrop.parentNode.removeChild(backdrop);
      body.style.overflow = prevBodyOverflow;
      root.style.overflow = prevRootOverflow;
      if (current === handle) current = null;
      if (prevFocus && typeof prevFocus.focus === "function") {
        try {
          prevFocus.focus();
        } catch (e) {
          /* element may be gone */
        }
      }
      return true;
    }

    function dismiss() {
      if (teardown() && !settled) safeCall(opts.onClose);
    }

    // Outcome callbacks run while the modal is still shown, then it closes
    // without onClose (the outcome callback already told the merchant).
    function settle(cb, data) {
      if (done || settled) return;
      settled = true;
      var result = {
        payment: typeof data.payment === "string" ? data.payment : undefined,
        redirect: safeRedirect(data.redirect)
      };
      // Mark as current=null first so a Hundi.open() from inside the callback
      // does not "dismiss" this modal and fire onClose.
      if (current === handle) current = null;
      safeCall(cb, result);
      teardown();
    }

    function onMessage(event) {
      // Any window can postMessage us. Trust a message only if it comes from
      // the checkout origin we loaded AND from this very iframe (another
      // frame on the same origin, or a stale one, must not drive this modal).
      if (done) return;
      if (event.origin !== checkoutOrigin) return;
      if (event.source !== iframe.contentWindow) return;
      var data = event.data;
      if (!data || typeof data !== "object" || data.source !== "hundi") return;
      switch (data.type) {
        case "success":
          settle(opts.onSuccess, data);
          break;
        case "cancel":
          settle(opts.onCancel, data);
          break;
        case "close":
          dismiss();
          break;
        case "resize":
          if (typeof data.height === "number" && isFinite(data.height) && data.height > 0) {
            requestedHeight = data.height;
            applyHeight();
          }
          break;
        default:
          // Unknown types are ignored so the checkout can evolve first.
          break;
      }
    }

    function onKeydown(event) {
      // Only reaches us while focus is in the merchant page or on our button;
      // keys pressed inside the cross-origin iframe stay in the iframe (the
      // checkout sends "close" for its own Escape handling).
      if (event.key === "Escape" || event.key === "Esc") {
        event.stopPropagation();
        event.preventDefault();
        dismiss();
      }
    }

    function onFocusin(event) {
      // Keep focus inside the dialog while it is modal.
      if (!dialog.contains(event.target)) dialog.focus();
    }

    backdrop.addEventListener("click", function (event) {
      if (event.target === backdrop) dismiss();
    });
    closeBtn.addEventListener("click", dismiss);

    var handle = {
      close: dismiss
    };

    window.addEventListener("message", onMessage);
    window.addEventListener("resize", applyHeight);
    document.addEventListener("keydown", onKeydown, true);
    document.addEventListener("focusin", onFocusin, true);

    body.style.overflow = "hidden";
    root.style.overflow = "hidden";
    body.appendChild(backdrop);
    current = handle;
    try {
      dialog.focus({ preventScroll: true });
    } catch (e) {
      dialog.focus();
    }

    return handle;
  }

  var Hundi = {
    version: VERSION,
    open: open
  };

  try {
    Object.freeze(Hundi);
  } catch (e) {
    /* ignore */
  }
  window.Hundi = Hundi;
})();

//! A real headless Chromium driven through ChromeDriver (Debian's `chromium` and
//! `chromium-driver`; the test script installs them), plus a tiny "merchant site" on another
//! origin for redirects and the JS SDK.

use fantoccini::{Client, ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const CHROMIUM_FLAGS: [&str; 7] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium window of `width` × `height`.
    pub async fn start(width: u32, height: u32) -> Browser {
        Browser::start_preferring(width, height, "en-US,en").await
    }

    /// `start`, with the browser preferring the languages `accept_languages` (`bn-BD,bn`), as
    /// its settings would: it sends them as `Accept-Language`.
    pub async fn start_preferring(width: u32, height: u32, accept_languages: &str) -> Browser {
        // Two TLS back ends are linked into the tests; pick one for the WebDriver client.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let driver_bin =
            std::env::var("HUNDI_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let chromium =
            std::env::var("HUNDI_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let port = super::free_port();
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {driver_bin} (install chromium-driver): {e}"));
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--window-size={width},{height}"));
        let mut options = serde_json::json!({
            "binary": chromium,
            "args": args,
            "prefs": { "intl": { "accept_languages": accept_languages } }
        });
        // Headless Chromium keeps a window at least 500 px wide; a phone's width is emulated
        // the way its developer tools do, so the page really lays out at `width`.
        if width < 500 {
            options["mobileEmulation"] = serde_json::json!({
                "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1.0 }
            });
        }
        let caps = serde_json::json!({ "goog:chromeOptions": options });
        let caps = caps.as_object().cloned().unwrap_or_default();
        let mut last_error = String::new();
        for _ in 0..100 {
            let builder = ClientBuilder::rustls();
            match builder {
                Ok(mut b) => match b
                    .capabilities(caps.clone())
                    .connect(&format!("http://127.0.0.1:{port}"))
                    .await
                {
                    Ok(client) => return Browser { client, driver },
                    Err(e) => last_error = e.to_string(),
                },
                Err(e) => last_error = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("ChromeDriver did not start a browser: {last_error}");
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        el.clear().await.expect("clear");
        el.send_keys(text).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    /// Waits (up to 10 s) for an element to appear.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    pub async fn url(&self) -> String {
        self.client.current_url().await.expect("url").to_string()
    }

    /// Waits (up to `secs`) until the current URL starts with `prefix`; returns it.
    pub async fn wait_for_url(&self, prefix: &str, secs: u64) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let url = self.url().await;
            if url.starts_with(prefix) {
                return url;
            }
            if std::time::Instant::now() > deadline {
                panic!("still at {url}, expected {prefix}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (up to `secs`) until the page's text contains `needle`.
    pub async fn wait_for_text(&self, needle: &str, secs: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let text = match self.client.find(Locator::Css("body")).await {
                Ok(b) => b.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(needle) {
                return;
            }
            if std::time::Instant::now() > deadline {
                panic!("the page never said {needle:?}; it says: {text}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves the page as `name` (e.g. `dashboard-keys.png`) under the build directory, never
    /// over the committed pictures in docs/screenshots: scripts/update_screenshots.sh copies
    /// them there on purpose.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("create the screenshot directory");
        std::fs::write(dir.join(name), png).expect("write screenshot");
    }

    pub async fn close(self) {
        let Browser { client, mut driver } = self;
        let _ = client.close().await;
        let _ = driver.kill();
        let _ = driver.wait();
    }
}

/// A merchant's site on its own origin: `/thanks` and `/cart` for redirects, and `/shop`,
/// a page that loads Hundi's JS SDK from Hundi's origin and opens a checkout in the modal.
/// `target/tmp/screenshots`: where a test run's screenshots go.
pub fn screenshot_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
}

pub struct MerchantSite {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl MerchantSite {
    pub async fn start(hundi_url: &str) -> MerchantSite {
        use axum::response::Html;
        use axum::routing::get;
        let sdk = format!("{hundi_url}/js/hundi.js");
        let shop = move |axum::extract::Query(q): axum::extract::Query<
            std::collections::HashMap<String, String>,
        >| {
            let sdk = sdk.clone();
            async move {
                let checkout = q.get("checkout").cloned().unwrap_or_default();
                Html(format!(
                    r#"<!doctype html><html><head><title>Shop</title><script src="{sdk}"></script></head>
<body><h1>Shop</h1><button id="buy">Buy</button><p id="result">waiting</p>
<script>
document.getElementById("buy").addEventListener("click", function () {{
  Hundi.open({checkout:?}, {{
    onSuccess: function (r) {{ document.getElementById("result").textContent = "paid " + r.payment; }},
    onCancel: function (r) {{ document.getElementById("result").textContent = "canceled " + r.payment; }},
    onClose: function () {{ document.getElementById("result").textContent = "closed"; }}
  }});
}});
</script></body></html>"#
                ))
            }
        };
        let pakhi_sdk = format!("{hundi_url}/static/js/pakhipay-sdk.js");
        let hundi_base = hundi_url.to_string();
        // Pakhi Pay's document's SDK example, with only the host and the key changed.
        let pakhi = move |axum::extract::Query(q): axum::extract::Query<
            std::collections::HashMap<String, String>,
        >| {
            let (sdk, base) = (pakhi_sdk.clone(), hundi_base.clone());
            async move {
                let key = q.get("key").cloned().unwrap_or_default();
                let back = q.get("back").cloned().unwrap_or_default();
                Html(format!(
                    r#"<!doctype html><html><head><title>Pakhi shop</title><script src="{sdk}"></script></head>
<body><button onclick="startPayment()">Pay with Pakhi Pay</button>
<script>
const pp = PakhiPay({{
apiKey: {key:?},
baseUrl: {base:?} // Base URL of Pakhi Pay
}});
function startPayment() {{
pp.checkout({{
amount: 100.00,
customerName: 'John Doe',
customerEmail: 'john@example.com',
orderId: 'ORD-998877',
successUrl: {success:?},
cancelUrl: {cancel:?},
callbackUrl: 'https://yourwebsite.com/webhook'
}});
}}
</script></body></html>"#,
                    success = format!("{back}/thanks"),
                    cancel = format!("{back}/cart"),
                ))
            }
        };
        let paygate_base = hundi_url.to_string();
        // PayGate's document's browser example, with only the host and the key changed, and
        // a button that calls it.
        let paygate = move |axum::extract::Query(q): axum::extract::Query<
            std::collections::HashMap<String, String>,
        >| {
            let base = paygate_base.clone();
            async move {
                let key = q.get("key").cloned().unwrap_or_default();
                Html(format!(
                    r#"<!doctype html><html><head><title>PayGate shop</title></head>
<body><button id="pay" onclick="createPayment()">Pay with UPI</button>
<script>
async function createPayment() {{
const res = await fetch('{base}/api/v1/create-payment', {{
method: 'POST',
headers: {{
'Content-Type': 'application/json',
'X-API-Key': {key:?}
}},
body: JSON.stringify({{
amount: 100,
customer_name: 'Customer',
merchant_ref: 'ORD-001'
}})
}});
const data = await res.json();
// Redirect to checkout page
window.location.href = data.payment.checkout_url;
// Or open UPI app directly on mobile
// window.location.href = data.payment.upi_deeplink;
}}
</script></body></html>"#
                ))
            }
        };
        let app = axum::Router::new()
            .route("/pakhi", get(pakhi))
            .route("/paygate", get(paygate))
            .route(
                "/thanks",
                get(|| async { Html("<h1>Thanks for your order</h1>") }),
            )
            .route("/cart", get(|| async { Html("<h1>Your cart</h1>") }))
            .route("/shop", get(shop));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        MerchantSite { url, task }
    }
}

impl Drop for MerchantSite {
    fn drop(&mut self) {
        self.task.abort();
    }
}

//! Static files compiled into the binary: the checkout's CSS and JS, and the JS SDK. A
//! dialect's own SDK is served by its router.

use crate::http::AppState;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

const CHECKOUT_CSS: &str = include_str!("../../static/checkout/checkout.css");
const CHECKOUT_JS: &str = include_str!("../../static/checkout/checkout.js");
const SDK_JS: &str = include_str!("../../static/js/hundi.js");

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/static/checkout.css",
            get(|| async { asset("text/css; charset=utf-8", CHECKOUT_CSS) }),
        )
        .route(
            "/static/checkout.js",
            get(|| async { asset("text/javascript; charset=utf-8", CHECKOUT_JS) }),
        )
        .route(
            "/js/hundi.js",
            get(|| async { asset("text/javascript; charset=utf-8", SDK_JS) }),
        )
}

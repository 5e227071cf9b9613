//! Serving the app over TLS with the certificate the resolver holds, and port 80 beside it,
//! both until the stop.

use super::{port80_router, CertResolver, Challenges};
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// What a node serving its own domain listens with, besides the app's (HTTPS) listener.
pub struct TlsFront {
    pub resolver: Arc<CertResolver>,
    pub challenges: Challenges,
    /// The plain-HTTP listener: challenges and the redirect.
    pub port80: TcpListener,
    /// `https://NAME[:port]`, where port 80 sends everything else.
    pub https_base: String,
}

/// Serves `app` over TLS on `listener`, and port 80, until `on_stop` completes; ends once
/// both have finished their requests in flight.
pub async fn serve_tls(
    listener: TcpListener,
    app: Router,
    front: TlsFront,
    on_stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let config = front
        .resolver
        .server_config()
        .map_err(std::io::Error::other)?;
    let handle = axum_server::Handle::new();
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    let stopper = handle.clone();
    tokio::spawn(async move {
        on_stop.await;
        stopper.graceful_shutdown(None);
        let _ = stopping.send(true);
    });
    let mut port80_stop = stopped;
    let port80 = axum::serve(
        front.port80,
        port80_router(front.challenges, &front.https_base),
    )
    .with_graceful_shutdown(async move {
        let _ = port80_stop.wait_for(|s| *s).await;
    })
    .into_future();
    // The peer's address is what the throttles count, as on plain HTTP.
    let https =
        axum_server::from_tcp_rustls(listener.into_std()?, RustlsConfig::from_config(config))?
            .handle(handle)
            .serve(app.into_make_service_with_connect_info::<SocketAddr>());
    let (https, port80) = tokio::join!(https, port80);
    https.and(port80)
}

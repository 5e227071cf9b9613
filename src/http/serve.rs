//! Serving the application over plain HTTP/1.1 (the listener without `--domain`).
//!
//! `axum::serve` builds every connection with hyper-util's "auto" builder, which keeps the
//! state of an HTTP/2 connection inline in each connection's task as soon as any crate of the
//! build turns on hyper's `http2` (the HTTPS server and the ACME client do): 800 bytes more in
//! every connection, held for as long as it stays open. A node with 10,000 checkout pages
//! waiting holds 10,000 connections (docs/performance.md). Plain HTTP here was only ever
//! HTTP/1.1 (HTTPS negotiates HTTP/2 by itself, through axum-server), so each connection is
//! served by hyper's HTTP/1 builder; the rest is what `axum::serve` did: the peer's address as
//! `ConnectInfo`, accept errors that do not stop the server, and a graceful stop that lets the
//! open connections finish.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting and waits for
/// the open connections to finish their requests (each is told to close once it is idle).
pub async fn serve_http1(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let connections = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    pause_after(e).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let service = app
            .clone()
            .map_request(move |mut req: axum::http::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let conn = connections.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::trace!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    connections.shutdown().await;
    Ok(())
}

/// A failed accept: a connection the peer gave up on is nothing; anything else (out of file
/// descriptors, most likely) is logged and waited out for a second, as hyper's own server did.
async fn pause_after(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept a connection");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

//! Connections of `serve`, each with bounds, so that slow or idle clients
//! cannot starve the others (the one-click unsubscribe must always answer):
//!
//! - request headers within [`HEADER_TIMEOUT`] (also how long a kept-alive
//!   connection may stay idle);
//! - a whole request body within [`BODY_TIMEOUT`], read before the request
//!   takes a handler's turn, and at most [`MAX_BODY`] bytes;
//! - at most [`MAX_CONNECTIONS`] open at once: beyond them a new connection
//!   evicts the oldest one that is not answering a request (a slow client
//!   still sending, an idle one, an event stream), or is closed when every
//!   one is answering.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures_util::StreamExt;
use tokio::sync::oneshot;

use super::subscribe::Peer;

/// Connections open at once.
pub const MAX_CONNECTIONS: usize = 512;

/// How long a client may take to send a request's headers, and how long an
/// idle kept-alive connection stays open.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to send a whole request body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request body read.
pub const MAX_BODY: usize = 16 * 1024;

/// Whether a connection is answering a request now (its body read, the
/// handler running): such a connection is never evicted.
#[derive(Clone, Default)]
pub struct InUse(Arc<AtomicBool>);

/// Marks a connection busy until dropped.
struct Answering(Arc<AtomicBool>);

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl InUse {
    fn enter(&self) -> Answering {
        self.0.store(true, Ordering::SeqCst);
        Answering(Arc::clone(&self.0))
    }

    fn is_busy(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Reads the whole request body within [`BODY_TIMEOUT`] and [`MAX_BODY`]
/// (408 or 413 otherwise, and the connection is closed), then hands the
/// request on with its connection marked busy while it is answered.
pub async fn read_body(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let busy = request.extensions().get::<InUse>().cloned();
    let refuse = |status: StatusCode, why: &'static str| {
        (status, [(header::CONNECTION, "close")], why).into_response()
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is too large",
        );
    }
    let (parts, body) = request.into_parts();
    let read = async {
        let mut stream = body.into_data_stream();
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| StatusCode::BAD_REQUEST)?;
            if bytes.len() + chunk.len() > MAX_BODY {
                return Err(StatusCode::PAYLOAD_TOO_LARGE);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    };
    let bytes = match tokio::time::timeout(BODY_TIMEOUT, read).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(StatusCode::PAYLOAD_TOO_LARGE)) => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is too large",
            )
        }
        Ok(Err(status)) => return refuse(status, "the request body could not be read"),
        Err(_) => {
            return refuse(
                StatusCode::REQUEST_TIMEOUT,
                "the request body came too slowly",
            )
        }
    };
    let _answering = busy.as_ref().map(InUse::enter);
    next.run(axum::extract::Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// An open connection: whether it is answering, and how to close it.
struct Slot {
    busy: InUse,
    evict: oneshot::Sender<()>,
}

/// The open connections, oldest first.
#[derive(Default)]
struct Slots {
    open: Mutex<BTreeMap<u64, Slot>>,
}

impl Slots {
    /// Takes a slot for a new connection `id`: when all are taken, the
    /// oldest connection not answering a request is closed for it. False
    /// when every connection is answering (the new one is then refused).
    fn take(&self, id: u64, busy: InUse, evict: oneshot::Sender<()>) -> bool {
        let mut open = self.open.lock().expect("slots");
        if open.len() >= MAX_CONNECTIONS {
            let Some(oldest) = open
                .iter()
                .find(|(_, slot)| !slot.busy.is_busy())
                .map(|(id, _)| *id)
            else {
                return false;
            };
            if let Some(slot) = open.remove(&oldest) {
                let _ = slot.evict.send(());
            }
        }
        open.insert(id, Slot { busy, evict });
        true
    }

    fn give_back(&self, id: u64) {
        self.open.lock().expect("slots").remove(&id);
    }
}

/// Accepts connections and serves each within the bounds above.
pub async fn serve_bounded(listener: tokio::net::TcpListener, router: Router) {
    let slots = Arc::new(Slots::default());
    for id in 0u64.. {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait, then go on.
                eprintln!("warning: cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let busy = InUse::default();
        let (evict, evicted) = oneshot::channel();
        if !slots.take(id, busy.clone(), evict) {
            // Every connection is answering a request: this one waits for
            // nothing and is closed, the client may try again.
            drop(stream);
            continue;
        }
        let service = hyper_util::service::TowerToHyperService::new(
            router
                .clone()
                .layer(axum::Extension(Peer(peer)))
                .layer(axum::Extension(busy)),
        );
        let slots = Arc::clone(&slots);
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                _ = evicted => {}
            }
            slots.give_back(id);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_table_evicts_the_oldest_idle_connection_never_a_busy_one() {
        let slots = Slots::default();
        let mut receivers = Vec::new();
        let mut busies = Vec::new();
        for id in 0..MAX_CONNECTIONS as u64 {
            let (evict, evicted) = oneshot::channel();
            let busy = InUse::default();
            assert!(slots.take(id, busy.clone(), evict));
            receivers.push(evicted);
            busies.push(busy);
        }
        // The two oldest are answering: the third oldest goes.
        let _a = busies[0].enter();
        let _b = busies[1].enter();
        let (evict, _new) = oneshot::channel();
        assert!(slots.take(10_000, InUse::default(), evict));
        assert!(receivers[0].try_recv().is_err());
        assert!(receivers[1].try_recv().is_err());
        assert_eq!(receivers[2].try_recv(), Ok(()));
        // Everybody answering: a new connection is refused.
        let _all: Vec<_> = busies.iter().map(InUse::enter).collect();
        let slots = Slots::default();
        for (id, busy) in busies.iter().enumerate() {
            let (evict, _) = oneshot::channel();
            assert!(slots.take(id as u64, busy.clone(), evict));
        }
        let (evict, _) = oneshot::channel();
        assert!(!slots.take(99_999, InUse::default(), evict));
    }
}

//! The confirmation mails of `serve`: one thread that keeps a connection to
//! the relay (the same SMTP code, timeouts and TLS rules as `send`), sends
//! the mails in turn and answers each request once the relay took it.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::message::Outgoing;
use crate::send::{Error, ServiceRelay, Transport};

/// A mail to send, answered with the relay's verdict.
pub type MailRequest = (Outgoing, oneshot::Sender<Result<(), String>>);

/// An open connection is closed after this long without mail.
const IDLE: Duration = Duration::from_secs(30);

/// Mails waiting at most; beyond them a request is refused at once.
pub const QUEUE: usize = 1024;

/// Starts the mailer thread; its sender, and the thread's handle.
pub fn start(
    relay: ServiceRelay,
    per_connection: usize,
) -> std::io::Result<mpsc::Sender<MailRequest>> {
    let (sender, receiver) = mpsc::channel(QUEUE);
    std::thread::Builder::new()
        .name("confirmations".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the mailer");
            runtime.block_on(run(relay, per_connection.max(1), receiver));
        })?;
    Ok(sender)
}

async fn run(
    relay: ServiceRelay,
    per_connection: usize,
    mut receiver: mpsc::Receiver<MailRequest>,
) {
    let mut open: Option<(<ServiceRelay as Transport>::Connection, usize)> = None;
    loop {
        let next = match &open {
            Some(_) => match tokio::time::timeout(IDLE, receiver.recv()).await {
                Ok(next) => next,
                Err(_) => {
                    if let Some((connection, _)) = open.take() {
                        relay.close(connection).await;
                    }
                    continue;
                }
            },
            None => receiver.recv().await,
        };
        let Some((message, done)) = next else { break };
        // The form's handler logs a failure (without the address).
        let result = hand_over(&relay, &mut open, per_connection, &message).await;
        let _ = done.send(result);
    }
    if let Some((connection, _)) = open.take() {
        relay.close(connection).await;
    }
}

/// Sends one mail, opening a connection when none is open; a connection
/// that broke while idle, or a relay that failed while another is left, is
/// tried again once (the failed relay rests, so the next connection goes to
/// the next one).
async fn hand_over(
    relay: &ServiceRelay,
    open: &mut Option<(<ServiceRelay as Transport>::Connection, usize)>,
    per_connection: usize,
    message: &Outgoing,
) -> Result<(), String> {
    for attempt in 0..2 {
        let fresh = open.is_none();
        if fresh {
            let connection = relay.connect().await.map_err(describe)?;
            *open = Some((connection, 0));
        }
        let (connection, sent) = open.as_mut().expect("opened above");
        match relay.send(connection, message).await {
            Ok(_) => {
                *sent += 1;
                if *sent >= per_connection {
                    if let Some((connection, _)) = open.take() {
                        relay.close(connection).await;
                    }
                }
                return Ok(());
            }
            Err(e) => {
                if let Some((connection, _)) = open.take() {
                    relay.close(connection).await;
                }
                if (fresh && relay.len() == 1) || attempt == 1 || e.is_permanent() {
                    return Err(describe(e));
                }
            }
        }
    }
    Err("the relay closed the connection twice".into())
}

fn describe(e: Error) -> String {
    format!("{:#}", e.into_fatal())
}

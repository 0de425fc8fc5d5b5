//! What carries a message to its reader: the relay over SMTP, the dry run's
//! files, or a test's stub. The delivery loop in [`super::run`] is the same
//! for all of them.

use std::future::Future;

use crate::message::Outgoing;

/// A way to deliver messages, with connections that each carry many.
///
/// The loop drives each connection on one thread, so neither futures nor
/// connections need to be `Send`; the transport itself is shared by the
/// threads of a run.
pub trait Transport: Sync {
    /// One open connection.
    type Connection;

    /// A name for messages, such as `smtp.example.com:587`.
    fn name(&self) -> String;

    /// Opens a connection (SMTP: connect, STARTTLS, login).
    fn connect(&self) -> impl Future<Output = Result<Self::Connection, Error>>;

    /// Hands one message over; the reply on success.
    fn send(
        &self,
        connection: &mut Self::Connection,
        message: &Outgoing,
    ) -> impl Future<Output = Result<String, Error>>;

    /// Closes a connection politely, without waiting long.
    fn close(&self, connection: Self::Connection) -> impl Future<Output = ()>;
}

/// Why a message did not get through.
#[derive(Debug)]
pub enum Error {
    /// A 4xx reply, a dropped connection, a timeout: try again later.
    Transient {
        /// The reply code, when the server gave one.
        code: Option<u16>,
        /// The reply or the network error.
        reply: String,
    },
    /// A 5xx reply for this reader (or a message letterpress cannot
    /// build for them): do not try again.
    Permanent {
        /// The reply code, when the server gave one.
        code: Option<u16>,
        /// The reply.
        reply: String,
    },
    /// A 5xx reply to MAIL FROM: the relay refuses the sender, whoever
    /// the reader. Nobody is marked for it; that relay carries no more of
    /// the send.
    Sender {
        /// The reply code.
        code: Option<u16>,
        /// The reply.
        reply: String,
    },
    /// Nobody can get through (login refused, TLS, a full disk): the run
    /// stops.
    Fatal(anyhow::Error),
}

impl Error {
    /// A temporary failure with `reply`.
    pub fn transient(code: Option<u16>, reply: impl Into<String>) -> Error {
        Error::Transient {
            code,
            reply: reply.into(),
        }
    }

    /// A permanent failure with `reply`.
    pub fn permanent(code: Option<u16>, reply: impl Into<String>) -> Error {
        Error::Permanent {
            code,
            reply: reply.into(),
        }
    }

    /// The relay refuses the sender with `reply`.
    pub fn sender(code: Option<u16>, reply: impl Into<String>) -> Error {
        Error::Sender {
            code,
            reply: reply.into(),
        }
    }

    /// Worth trying again later.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Transient { .. })
    }

    /// Never worth trying again for this reader.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Error::Permanent { .. })
    }

    /// The error as the reason a run stopped.
    pub fn into_fatal(self) -> anyhow::Error {
        match self {
            Error::Fatal(e) => e,
            other => anyhow::anyhow!("{other}"),
        }
    }

    /// The reply code, when the server gave one.
    pub fn code(&self) -> Option<u16> {
        match self {
            Error::Transient { code, .. }
            | Error::Permanent { code, .. }
            | Error::Sender { code, .. } => *code,
            Error::Fatal(_) => None,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Transient { reply, .. } | Error::Permanent { reply, .. } => f.write_str(reply),
            Error::Sender { reply, .. } => write!(f, "the relay refuses the sender: {reply}"),
            Error::Fatal(e) => write!(f, "{e:#}"),
        }
    }
}

/// A transport borrowed: a lane of a send may hold a relay owned elsewhere.
impl<T: Transport> Transport for &T {
    type Connection = T::Connection;

    fn name(&self) -> String {
        (**self).name()
    }

    fn connect(&self) -> impl Future<Output = Result<Self::Connection, Error>> {
        (**self).connect()
    }

    fn send(
        &self,
        connection: &mut Self::Connection,
        message: &Outgoing,
    ) -> impl Future<Output = Result<String, Error>> {
        (**self).send(connection, message)
    }

    fn close(&self, connection: Self::Connection) -> impl Future<Output = ()> {
        (**self).close(connection)
    }
}

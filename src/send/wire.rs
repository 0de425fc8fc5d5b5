//! What the relay says, made safe to read as text. lettre reads reply
//! lines as UTF-8 and takes a line that is not for a network error: a
//! relay that accepted a message with a reply like `250 2.0.0 \xff queued`
//! would look like a temporary failure, and the message would be sent
//! again on every attempt. The reply code decides, never its text: under
//! lettre, every byte sequence the relay sends that is not UTF-8 becomes
//! U+FFFD. What letterpress writes passes through untouched.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use lettre::transport::smtp::client::AsyncTokioStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How much is read from the relay at a time.
const CHUNK: usize = 8 * 1024;

/// A stream whose read side is valid UTF-8.
#[derive(Debug)]
pub struct Lossy<S> {
    inner: S,
    /// Text made valid (or replayed) and not yet handed to the reader.
    ready: Vec<u8>,
    taken: usize,
    /// The start of a character cut off at the end of the last read.
    partial: Vec<u8>,
    chunk: Box<[u8]>,
}

impl<S> Lossy<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Lossy<S> {
        Lossy {
            inner,
            ready: Vec::new(),
            taken: 0,
            partial: Vec::new(),
            chunk: vec![0; CHUNK].into_boxed_slice(),
        }
    }

    /// Hands `text` to the reader before anything read from the stream
    /// (the greeting, already read on the way to STARTTLS, for lettre,
    /// which wants to read one).
    pub fn replaying(mut self, text: &str) -> Lossy<S> {
        self.ready.extend_from_slice(text.as_bytes());
        self
    }
}

/// Appends `bytes` to `out` with every invalid sequence as U+FFFD; the
/// incomplete character at the end, if any, is returned to be completed
/// by the next read.
fn make_valid(bytes: &[u8], out: &mut Vec<u8>) -> Vec<u8> {
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(text) => {
                out.extend_from_slice(text.as_bytes());
                return Vec::new();
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                out.extend_from_slice(valid);
                match e.error_len() {
                    Some(len) => {
                        out.extend_from_slice(char::REPLACEMENT_CHARACTER.to_string().as_bytes());
                        rest = &after[len..];
                    }
                    None => return after.to_vec(),
                }
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Lossy<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.taken < this.ready.len() || buf.remaining() == 0 {
                let n = buf.remaining().min(this.ready.len() - this.taken);
                buf.put_slice(&this.ready[this.taken..this.taken + n]);
                this.taken += n;
                if this.taken == this.ready.len() {
                    this.ready.clear();
                    this.taken = 0;
                }
                return Poll::Ready(Ok(()));
            }
            let mut read = ReadBuf::new(&mut this.chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            let got = read.filled();
            if got.is_empty() {
                if this.partial.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                // The stream ended inside a character.
                this.partial.clear();
                make_valid(&[0xff], &mut this.ready);
                continue;
            }
            let mut bytes = std::mem::take(&mut this.partial);
            bytes.extend_from_slice(got);
            this.partial = make_valid(&bytes, &mut this.ready);
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Lossy<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<S: AsyncTokioStream> AsyncTokioStream for Lossy<S> {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.inner.peer_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Reads everything `sent` becomes, the relay writing it in pieces of
    /// `piece` bytes (a character may be cut between two reads).
    fn through(sent: &[u8], piece: usize) -> Vec<u8> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (ours, mut theirs) = tokio::io::duplex(64);
            let sent = sent.to_vec();
            let writer = tokio::spawn(async move {
                for part in sent.chunks(piece) {
                    theirs.write_all(part).await.unwrap();
                    theirs.flush().await.unwrap();
                    tokio::task::yield_now().await;
                }
            });
            let mut lossy = Lossy::new(ours);
            let mut out = Vec::new();
            lossy.read_to_end(&mut out).await.unwrap();
            writer.await.unwrap();
            out
        })
    }

    #[test]
    fn bytes_that_are_not_utf8_become_replacement_characters() {
        let reply = b"250 2.0.0 \xff\xfe queued \xe2\x82\r\n";
        for piece in [1, 2, 3, 64] {
            assert_eq!(
                String::from_utf8(through(reply, piece)).unwrap(),
                "250 2.0.0 \u{fffd}\u{fffd} queued \u{fffd}\r\n",
                "in pieces of {piece}"
            );
        }
    }

    #[test]
    fn valid_text_is_kept_even_when_a_character_is_split_between_reads() {
        let reply = "250 2.0.0 mis en file d’attente, 큐에 넣음\r\n".as_bytes();
        for piece in [1, 2, 5, 64] {
            assert_eq!(through(reply, piece), reply, "in pieces of {piece}");
        }
        assert_eq!(
            through(b"220 ok\r\n\xe2\x82", 64),
            "220 ok\r\n\u{fffd}".as_bytes()
        );
    }
}

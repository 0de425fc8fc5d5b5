//! The relays of the service mails (confirmations, the reader's link,
//! consent notices): one mail at a time, so no spreading by weight, but the
//! same failover as a send. A connection goes to the first relay in order
//! (primaries, then fallbacks) that is not resting and answers; a relay
//! that does not answer, defers or refuses the sender rests for a while,
//! so the next connection goes to the next one.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::transport::{Error, Transport};
use crate::message::Outgoing;

/// How long a relay that failed is passed over.
pub const REST: Duration = Duration::from_secs(60);

/// Several relays tried in order.
pub struct Failover<T> {
    relays: Vec<T>,
    /// Per relay: passed over until then.
    resting: Mutex<Vec<Option<Instant>>>,
}

/// A connection, with the relay it is to.
pub struct Via<C> {
    index: usize,
    connection: C,
}

impl<T: Transport> Failover<T> {
    /// The relays in the order they are tried; at least one.
    pub fn new(relays: Vec<T>) -> Failover<T> {
        assert!(!relays.is_empty(), "failover needs a relay");
        let resting = Mutex::new(vec![None; relays.len()]);
        Failover { relays, resting }
    }

    /// How many relays there are.
    pub fn len(&self) -> usize {
        self.relays.len()
    }

    /// Never: there is always one relay.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The name of the relay a connection is to.
    pub fn name_of(&self, via: &Via<T::Connection>) -> String {
        self.relays[via.index].name()
    }

    fn rest(&self, index: usize) {
        if let Ok(mut resting) = self.resting.lock() {
            resting[index] = Some(Instant::now() + REST);
        }
    }

    /// The relays to try: those not resting, in order, then the resting.
    fn order(&self) -> Vec<usize> {
        let now = Instant::now();
        let resting: Vec<bool> = match self.resting.lock() {
            Ok(resting) => resting.iter().map(|r| r.is_some_and(|t| t > now)).collect(),
            Err(_) => vec![false; self.relays.len()],
        };
        let (awake, asleep): (Vec<usize>, Vec<usize>) =
            (0..self.relays.len()).partition(|&i| !resting[i]);
        awake.into_iter().chain(asleep).collect()
    }
}

impl<T: Transport> Transport for Failover<T> {
    type Connection = Via<T::Connection>;

    fn name(&self) -> String {
        let names: Vec<String> = self.relays.iter().map(Transport::name).collect();
        names.join(" or ")
    }

    async fn connect(&self) -> Result<Via<T::Connection>, Error> {
        let mut failures = Vec::new();
        for index in self.order() {
            let relay = &self.relays[index];
            match relay.connect().await {
                Ok(connection) => return Ok(Via { index, connection }),
                Err(e) => {
                    self.rest(index);
                    failures.push((relay.name(), e));
                }
            }
        }
        if failures.len() == 1 {
            return Err(failures.remove(0).1);
        }
        let fatal = failures.iter().all(|(_, e)| matches!(e, Error::Fatal(_)));
        let said: Vec<String> = failures
            .iter()
            .map(|(name, e)| format!("{name}: {e}"))
            .collect();
        let said = format!("no relay answered ({})", said.join("; "));
        Err(match fatal {
            true => Error::Fatal(anyhow::anyhow!(said)),
            false => Error::transient(None, said),
        })
    }

    async fn send(
        &self,
        via: &mut Via<T::Connection>,
        message: &Outgoing,
    ) -> Result<String, Error> {
        let answer = self.relays[via.index]
            .send(&mut via.connection, message)
            .await;
        if let Err(Error::Transient { .. } | Error::Sender { .. } | Error::Fatal(_)) = &answer {
            self.rest(via.index);
        }
        answer
    }

    async fn close(&self, via: Via<T::Connection>) {
        self.relays[via.index].close(via.connection).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A relay that refuses connections, defers every mail or takes it.
    struct Scripted {
        name: &'static str,
        answers: bool,
        defers: bool,
        took: AtomicUsize,
    }

    fn scripted(name: &'static str, answers: bool, defers: bool) -> Scripted {
        Scripted {
            name,
            answers,
            defers,
            took: AtomicUsize::new(0),
        }
    }

    impl Transport for Scripted {
        type Connection = ();

        fn name(&self) -> String {
            self.name.to_string()
        }

        async fn connect(&self) -> Result<(), Error> {
            match self.answers {
                true => Ok(()),
                false => Err(Error::transient(None, "connection refused")),
            }
        }

        async fn send(&self, _: &mut (), _: &Outgoing) -> Result<String, Error> {
            if self.defers {
                return Err(Error::transient(Some(421), "421 try later"));
            }
            self.took.fetch_add(1, Ordering::SeqCst);
            Ok("250 ok".into())
        }

        async fn close(&self, _: ()) {}
    }

    fn outgoing() -> Outgoing {
        Outgoing {
            from: "news@example.com".parse().unwrap(),
            to: "reader@example.org".parse().unwrap(),
            bytes: b"Subject: x\r\n\r\nx\r\n".to_vec(),
            return_path: false,
        }
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn a_relay_that_does_not_answer_or_defers_hands_the_next_mail_to_the_next() {
        let relays = Failover::new(vec![
            scripted("down", false, false),
            scripted("storm", true, true),
            scripted("fallback", true, false),
        ]);
        block_on(async {
            // "down" refuses the connection: "storm" takes it, then defers.
            let mut via = relays.connect().await.unwrap();
            assert_eq!(via.index, 1);
            assert!(relays.send(&mut via, &outgoing()).await.is_err());
            relays.close(via).await;
            // Both rest now: the next connection goes to "fallback".
            let mut via = relays.connect().await.unwrap();
            assert_eq!(via.index, 2);
            relays.send(&mut via, &outgoing()).await.unwrap();
        });
        assert_eq!(relays.relays[2].took.load(Ordering::SeqCst), 1);
        assert_eq!(relays.name(), "down or storm or fallback");
    }

    #[test]
    fn with_every_relay_down_the_error_names_each() {
        let relays = Failover::new(vec![
            scripted("a", false, false),
            scripted("b", false, false),
        ]);
        let Err(e) = block_on(relays.connect()) else {
            panic!("connected to a relay that is down");
        };
        assert!(e.is_transient());
        assert_eq!(
            e.to_string(),
            "no relay answered (a: connection refused; b: connection refused)"
        );
        // Resting relays are still tried when every relay rests.
        let one = Failover::new(vec![scripted("a", false, false)]);
        assert!(block_on(one.connect()).is_err());
        assert_eq!(one.order(), vec![0]);
    }
}

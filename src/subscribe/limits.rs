//! How often confirmation mails may go out: once per address per ten
//! minutes, and a number per client per hour. Both are kept in memory with
//! a bounded number of entries.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// At most one confirmation mail per address in this time.
pub const PER_ADDRESS: Duration = Duration::from_secs(10 * 60);

/// The window of the per-client cap.
pub const PER_CLIENT_WINDOW: Duration = Duration::from_secs(3600);

/// Entries each table holds at most; beyond them new requests are refused
/// until old entries expire (a flood cannot grow memory without bound).
pub const MAX_ENTRIES: usize = 200_000;

/// What the limits say about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send the mail.
    Send,
    /// This address got a mail in the last ten minutes: answer as if sent.
    Quiet,
    /// This client (or everybody, when the tables are full) must wait.
    Refused,
}

/// The counters.
pub struct Limits {
    per_client: u32,
    addresses: HashMap<String, Instant>,
    clients: HashMap<IpAddr, (Instant, u32)>,
}

impl Limits {
    /// Limits allowing `per_client` mails per client per hour.
    pub fn new(per_client: u32) -> Limits {
        Limits {
            per_client,
            addresses: HashMap::new(),
            clients: HashMap::new(),
        }
    }

    /// Counts a request for `identity` from `client` at `now`.
    pub fn check(&mut self, identity: &str, client: IpAddr, now: Instant) -> Verdict {
        self.expire(now);
        let window = self.clients.get(&client).copied();
        let used = match window {
            Some((start, count)) if now.duration_since(start) < PER_CLIENT_WINDOW => count,
            _ => 0,
        };
        if used >= self.per_client {
            return Verdict::Refused;
        }
        if self
            .addresses
            .get(identity)
            .is_some_and(|at| now.duration_since(*at) < PER_ADDRESS)
        {
            return Verdict::Quiet;
        }
        if self.addresses.len() >= MAX_ENTRIES || self.clients.len() >= MAX_ENTRIES {
            return Verdict::Refused;
        }
        let start = match window {
            Some((start, _)) if used > 0 => start,
            _ => now,
        };
        self.clients.insert(client, (start, used + 1));
        self.addresses.insert(identity.to_string(), now);
        Verdict::Send
    }

    /// Forgets that `identity` was mailed (the mail could not be sent, so
    /// the reader may ask again at once).
    pub fn forget(&mut self, identity: &str) {
        self.addresses.remove(identity);
    }

    /// Drops expired entries, when a table has grown.
    fn expire(&mut self, now: Instant) {
        if self.addresses.len() > MAX_ENTRIES / 2 {
            self.addresses
                .retain(|_, at| now.duration_since(*at) < PER_ADDRESS);
        }
        if self.clients.len() > MAX_ENTRIES / 2 {
            self.clients
                .retain(|_, (start, _)| now.duration_since(*start) < PER_CLIENT_WINDOW);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_mail_per_address_and_a_cap_per_client() {
        let mut limits = Limits::new(3);
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t = Instant::now();
        assert_eq!(limits.check("x@example.com", a, t), Verdict::Send);
        assert_eq!(limits.check("x@example.com", b, t), Verdict::Quiet);
        assert_eq!(limits.check("y@example.com", a, t), Verdict::Send);
        assert_eq!(limits.check("z@example.com", a, t), Verdict::Send);
        assert_eq!(limits.check("w@example.com", a, t), Verdict::Refused);
        assert_eq!(limits.check("w@example.com", b, t), Verdict::Send);
        let later = t + PER_ADDRESS + Duration::from_secs(1);
        assert_eq!(limits.check("x@example.com", b, later), Verdict::Send);
        assert_eq!(limits.check("v@example.com", a, later), Verdict::Refused);
        let next_hour = t + PER_CLIENT_WINDOW + Duration::from_secs(1);
        assert_eq!(limits.check("v@example.com", a, next_hour), Verdict::Send);
        limits.forget("v@example.com");
        assert_eq!(limits.check("v@example.com", b, next_hour), Verdict::Send);
    }
}

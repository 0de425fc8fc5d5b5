//! How often confirmation mails may go out: once per mailbox per ten
//! minutes, and a number per client per hour. Both are kept in memory with
//! a bounded number of entries.
//!
//! A mailbox is the address case-folded and without a `+tag` (so
//! `a+1@example.com` and `A+2@example.com` count as `a@example.com`); a
//! client is an IPv4 address or an IPv6 /64 (one host usually holds a whole
//! /64, so counting each /128 would let it multiply its cap).

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
pub enum Admission {
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

/// The mailbox `address` reaches, for the per-address limit: case-folded,
/// without a `+tag` in its local part.
pub fn mailbox(address: &str) -> String {
    let address = address.trim().to_lowercase();
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split_once('+').map_or(local, |(base, _)| base);
            // A local part that is only a tag ("+x@") keeps its whole self.
            let local = if local.is_empty() {
                address.rsplit_once('@').map_or("", |(l, _)| l)
            } else {
                local
            };
            format!("{local}@{domain}")
        }
        None => address,
    }
}

/// The client a request counts against: an IPv4 address as it is, an IPv6
/// address by its /64 (an IPv4-mapped one as the IPv4 address).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(std::net::Ipv6Addr::from(prefix))
            }
        },
    }
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

    /// Counts a request for `address` from `client` at `now`.
    pub fn check(&mut self, address: &str, client: IpAddr, now: Instant) -> Admission {
        let (identity, client) = (&mailbox(address), client_key(client));
        self.expire(now);
        let window = self.clients.get(&client).copied();
        let used = match window {
            Some((start, count)) if now.duration_since(start) < PER_CLIENT_WINDOW => count,
            _ => 0,
        };
        if used >= self.per_client {
            return Admission::Refused;
        }
        if self
            .addresses
            .get(identity)
            .is_some_and(|at| now.duration_since(*at) < PER_ADDRESS)
        {
            return Admission::Quiet;
        }
        if self.addresses.len() >= MAX_ENTRIES || self.clients.len() >= MAX_ENTRIES {
            return Admission::Refused;
        }
        let start = match window {
            Some((start, _)) if used > 0 => start,
            _ => now,
        };
        self.clients.insert(client, (start, used + 1));
        self.addresses.insert(identity.clone(), now);
        Admission::Send
    }

    /// Forgets that `address` was mailed (the mail could not be sent, so
    /// the reader may ask again at once).
    pub fn forget(&mut self, address: &str) {
        self.addresses.remove(&mailbox(address));
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
        assert_eq!(limits.check("x@example.com", a, t), Admission::Send);
        assert_eq!(limits.check("x@example.com", b, t), Admission::Quiet);
        assert_eq!(limits.check("y@example.com", a, t), Admission::Send);
        assert_eq!(limits.check("z@example.com", a, t), Admission::Send);
        assert_eq!(limits.check("w@example.com", a, t), Admission::Refused);
        assert_eq!(limits.check("w@example.com", b, t), Admission::Send);
        let later = t + PER_ADDRESS + Duration::from_secs(1);
        assert_eq!(limits.check("x@example.com", b, later), Admission::Send);
        assert_eq!(limits.check("v@example.com", a, later), Admission::Refused);
        let next_hour = t + PER_CLIENT_WINDOW + Duration::from_secs(1);
        assert_eq!(limits.check("v@example.com", a, next_hour), Admission::Send);
        limits.forget("v@example.com");
        assert_eq!(limits.check("v@example.com", b, next_hour), Admission::Send);
    }

    #[test]
    fn a_tag_or_a_capital_does_not_make_another_mailbox() {
        assert_eq!(mailbox("Jane+News@Example.COM"), "jane@example.com");
        assert_eq!(mailbox("jane+a+b@example.com"), "jane@example.com");
        assert_eq!(mailbox("+only@example.com"), "+only@example.com");
        let mut limits = Limits::new(100);
        let t = Instant::now();
        let ip = |n: u8| IpAddr::from([10, 0, 0, n]);
        assert_eq!(limits.check("jane@example.com", ip(1), t), Admission::Send);
        for (n, tagged) in [
            "jane+1@example.com",
            "JANE+2@example.com",
            "Jane@Example.com",
        ]
        .iter()
        .enumerate()
        {
            assert_eq!(
                limits.check(tagged, ip(n as u8 + 2), t),
                Admission::Quiet,
                "{tagged}"
            );
        }
        limits.forget("Jane+x@example.com");
        assert_eq!(
            limits.check("jane+3@example.com", ip(9), t),
            Admission::Send
        );
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64_and_ipv4_stays_per_address() {
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(client_key(v6("2001:db8:1:2:aaaa::1")), v6("2001:db8:1:2::"));
        assert_eq!(client_key(v6("::ffff:192.0.2.7")), v6("192.0.2.7"));
        assert_eq!(client_key(v6("192.0.2.7")), v6("192.0.2.7"));
        let mut limits = Limits::new(2);
        let t = Instant::now();
        assert_eq!(
            limits.check("a@example.com", v6("2001:db8::1"), t),
            Admission::Send
        );
        assert_eq!(
            limits.check("b@example.com", v6("2001:db8::ffff:2"), t),
            Admission::Send
        );
        assert_eq!(
            limits.check("c@example.com", v6("2001:db8::3"), t),
            Admission::Refused
        );
        assert_eq!(
            limits.check("c@example.com", v6("2001:db8:0:1::3"), t),
            Admission::Send
        );
        assert_eq!(
            limits.check("d@example.com", v6("192.0.2.1"), t),
            Admission::Send
        );
        assert_eq!(
            limits.check("e@example.com", v6("192.0.2.1"), t),
            Admission::Send
        );
        assert_eq!(
            limits.check("f@example.com", v6("192.0.2.2"), t),
            Admission::Send
        );
    }
}

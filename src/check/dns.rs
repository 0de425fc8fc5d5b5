//! `check --dns`: the records receivers look up before they accept a
//! newsletter, read from DNS: SPF of the envelope-sender domain, each DKIM
//! key, DMARC of the From domain, the bounce domain's MX and the relay's
//! reverse DNS. Each finding names the record to publish or fix and the
//! receivers that ask for it; a lookup that fails is reported as not
//! checked, never as missing.
//!
//! Every query has 2 s, a run makes at most 64 of them and stops asking
//! after 30 s in all, so a dead resolver cannot hang a check.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::TokioResolver;

use super::{Level, Report};
use crate::config::Config;

/// Time for one query.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);
/// Queries in one run.
const MAX_QUERIES: usize = 64;
/// Time for the whole run.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(30);
/// RFC 7208 §4.6.4: DNS-querying terms one SPF evaluation may use.
const SPF_LOOKUP_LIMIT: usize = 10;

const SPF_WHO: &str = "Gmail, Yahoo and Naver check SPF of every sender";
const DKIM_WHO: &str = "Gmail and Yahoo require DKIM of bulk senders, Naver checks it";
const DMARC_WHO: &str =
    "Gmail and Yahoo require DMARC aligned with From of bulk senders, Naver checks it";
const MX_WHO: &str =
    "Gmail, Yahoo and Naver refuse an envelope sender whose domain takes no mail, and bounces cannot come back";
const PTR_WHO: &str = "Gmail and Yahoo require a sending address whose PTR resolves back to it (FCrDNS), Naver refuses mail from addresses without PTR";

/// Where `check --dns` asks.
#[derive(Debug, Clone, Copy, Default)]
pub struct DnsOptions {
    /// Only this server (UDP and TCP); the system's resolver when `None`.
    pub server: Option<SocketAddr>,
}

/// One DNS lookup's outcome: the records (empty when the name or the type
/// does not exist), or why it could not be answered.
type Answer<T> = Result<Vec<T>, String>;

/// A resolver with bounds: a timeout per query, a number of queries and a
/// time for the run.
struct Dns {
    runtime: tokio::runtime::Runtime,
    resolver: TokioResolver,
    queries: usize,
    deadline: Instant,
}

impl Dns {
    fn new(options: DnsOptions) -> anyhow::Result<Dns> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut builder = match options.server {
            Some(server) => {
                let mut udp = ConnectionConfig::udp();
                udp.port = server.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = server.port();
                let config = ResolverConfig::from_name_servers(vec![NameServerConfig::new(
                    server.ip(),
                    true,
                    vec![udp, tcp],
                )]);
                TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            }
            None => TokioResolver::builder_tokio()
                .map_err(|e| anyhow::anyhow!("cannot read the system's resolver: {e}"))?,
        };
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.timeout = QUERY_TIMEOUT;
        opts.attempts = 1;
        opts.ndots = 0;
        if options.server.is_some() {
            opts.use_hosts_file = ResolveHosts::Never;
        }
        let resolver = {
            let _guard = runtime.enter();
            builder
                .build()
                .map_err(|e| anyhow::anyhow!("cannot set up the resolver: {e}"))?
        };
        Ok(Dns {
            runtime,
            resolver,
            queries: 0,
            deadline: Instant::now() + TOTAL_TIMEOUT,
        })
    }

    /// The records of `rtype` at `name`.
    fn query(&mut self, name: &str, rtype: RecordType) -> Answer<RData> {
        if self.queries >= MAX_QUERIES {
            return Err(format!("more than {MAX_QUERIES} lookups in one check"));
        }
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("over {} s of lookups", TOTAL_TIMEOUT.as_secs()));
        }
        self.queries += 1;
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        let lookup = self.resolver.lookup(fqdn, rtype);
        let answer = self.runtime.block_on(async {
            tokio::time::timeout(QUERY_TIMEOUT.min(left) + Duration::from_millis(200), lookup).await
        });
        match answer {
            Err(_) => Err(format!("no answer within {} s", QUERY_TIMEOUT.as_secs())),
            Ok(Ok(lookup)) => Ok(lookup
                .answers()
                .iter()
                .filter(|r| r.record_type() == rtype)
                .map(|r| r.data.clone())
                .collect()),
            Ok(Err(NetError::Dns(DnsError::NoRecordsFound(none))))
                if matches!(
                    none.response_code,
                    ResponseCode::NXDomain | ResponseCode::NoError
                ) =>
            {
                Ok(Vec::new())
            }
            Ok(Err(NetError::Timeout)) => {
                Err(format!("no answer within {} s", QUERY_TIMEOUT.as_secs()))
            }
            Ok(Err(e)) => Err(e.to_string()),
        }
    }

    /// The TXT records at `name`, each one string (RFC 7208 §3.3: its
    /// character-strings joined without spaces).
    fn txt(&mut self, name: &str) -> Answer<String> {
        Ok(self
            .query(name, RecordType::TXT)?
            .into_iter()
            .filter_map(|r| match r {
                RData::TXT(txt) => Some(
                    txt.txt_data
                        .iter()
                        .map(|s| String::from_utf8_lossy(s))
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect())
    }

    /// The A and AAAA addresses of `name`.
    fn addresses(&mut self, name: &str) -> Answer<IpAddr> {
        let mut found = Vec::new();
        for rtype in [RecordType::A, RecordType::AAAA] {
            for r in self.query(name, rtype)? {
                match r {
                    RData::A(a) => found.push(IpAddr::V4(a.0)),
                    RData::AAAA(a) => found.push(IpAddr::V6(a.0)),
                    _ => {}
                }
            }
        }
        Ok(found)
    }

    /// The MX hosts of `name`, lowercased, without the final dot.
    fn mx(&mut self, name: &str) -> Answer<String> {
        Ok(self
            .query(name, RecordType::MX)?
            .into_iter()
            .filter_map(|r| match r {
                RData::MX(mx) => Some(plain_name(&mx.exchange.to_string())),
                _ => None,
            })
            .collect())
    }

    /// The PTR names of `ip`.
    fn ptr(&mut self, ip: IpAddr) -> Answer<String> {
        let name = reverse_name(ip);
        Ok(self
            .query(&name, RecordType::PTR)?
            .into_iter()
            .filter_map(|r| match r {
                RData::PTR(ptr) => Some(plain_name(&ptr.0.to_string())),
                _ => None,
            })
            .collect())
    }
}

fn plain_name(name: &str) -> String {
    name.trim_end_matches('.').to_lowercase()
}

/// `d.c.b.a.in-addr.arpa` or the nibbles under `ip6.arpa`.
fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        IpAddr::V6(v6) => {
            let mut name = String::new();
            for byte in v6.octets().iter().rev() {
                name.push_str(&format!("{:x}.{:x}.", byte & 0xf, byte >> 4));
            }
            name + "ip6.arpa"
        }
    }
}

/// The organisational domain of `domain` (RFC 7489 §3.2), for the DMARC
/// fallback and relaxed alignment: the public suffix and one label more,
/// from the Public Suffix List (`example.co.kr` for `news.example.co.kr`);
/// the domain itself when it is a suffix or the list does not know it.
pub(super) fn organisational(domain: &str) -> String {
    let domain = domain.trim_end_matches('.').to_lowercase();
    match psl::domain_str(&domain) {
        Some(registrable) => registrable.to_string(),
        None => domain,
    }
}

/// DMARC alignment (RFC 7489 §3.1): strict is the same domain, relaxed
/// the same organisational domain.
fn aligned(a: &str, b: &str, strict: bool) -> bool {
    let (a, b) = (a.to_lowercase(), b.to_lowercase());
    match strict {
        true => a == b,
        false => organisational(&a) == organisational(&b),
    }
}

/// The line of `key` in the `[table]` (or first `[[table]]`) of the config
/// text; the table's line when the key is absent, 1 when the table is.
fn key_line(text: &str, table: &str, key: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let header = |l: &str| {
        let l = l.trim();
        l == format!("[{table}]") || l == format!("[[{table}]]")
    };
    let Some(start) = lines.iter().position(|l| header(l)) else {
        return 1;
    };
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let line = line.trim_start();
        if line.starts_with('[') {
            break;
        }
        if let Some(rest) = line.strip_prefix(key) {
            if rest.trim_start().starts_with('=') {
                return i + 1;
            }
        }
    }
    start + 1
}

/// The checks of `check --dns`, added to `report` at the config lines
/// they concern.
pub fn check_dns(config: &Config, options: DnsOptions, report: &mut Report) -> anyhow::Result<()> {
    let text = crate::error::read_input(&config.path)?;
    let mut out = Out {
        path: &config.path,
        report,
    };
    let mut dns = match Dns::new(options) {
        Ok(dns) => dns,
        Err(e) => {
            out.add(1, Level::Warning, format!("DNS: nothing could be checked: {e:#}; give a server with --dns-server HOST:PORT"));
            return Ok(());
        }
    };
    let from_domain = config.from_domain();
    let from_line = key_line(&text, "newsletter", "from");
    let return_path = config.bounces().return_path.clone();
    let bounce_line = key_line(&text, "bounces", "return_path");
    // The envelope sender: the VERP base's domain, else From's.
    let (envelope_domain, envelope_line) = match &return_path {
        Some(base) => (
            base.rsplit('@').next().unwrap_or_default().to_lowercase(),
            bounce_line,
        ),
        None => (from_domain.clone(), from_line),
    };
    // Every relay's public addresses: SPF must permit each, and each has
    // its PTR checked.
    let mut relays = Vec::new();
    for (i, smtp) in config.file.smtp.iter().enumerate() {
        let offset = crate::error::key_offset_in(&text, &["smtp", "host"], Some(i));
        let (line, _) = crate::error::line_col(&text, offset);
        let host = smtp.host.clone();
        let ips = public_addresses(&mut dns, &host, line, &mut out);
        relays.push((host, line, ips));
    }
    let public: Vec<IpAddr> = relays
        .iter()
        .filter_map(|(_, _, ips)| ips.clone())
        .flatten()
        .collect();
    check_spf(&mut dns, &envelope_domain, &public, envelope_line, &mut out);
    check_dkim(&mut dns, config, &text, &mut out);
    check_dmarc(
        &mut dns,
        config,
        &from_domain,
        &envelope_domain,
        from_line,
        &mut out,
    );
    check_mx(&mut dns, &envelope_domain, envelope_line, &mut out);
    for (host, line, ips) in &relays {
        if let Some(ips) = ips {
            check_ptr(&mut dns, host, ips, *line, &mut out);
        }
    }
    Ok(())
}

/// The relay's public addresses; one on this machine or a private
/// network says nothing of the address receivers see (a note says so).
fn public_addresses(dns: &mut Dns, host: &str, line: usize, out: &mut Out) -> Option<Vec<IpAddr>> {
    let ips = relay_addresses(dns, host, line, out)?;
    let (public, private): (Vec<IpAddr>, Vec<IpAddr>) =
        ips.into_iter().partition(|ip| is_public(*ip));
    if public.is_empty() && !private.is_empty() {
        out.report.notes.push(format!(
            "the relay {host} is on a private address: SPF's relay and its PTR are checked on the public address of the relay, which --dns cannot see"
        ));
    }
    Some(public)
}

struct Out<'a> {
    path: &'a Path,
    report: &'a mut Report,
}

impl Out<'_> {
    fn add(&mut self, line: usize, level: Level, message: String) {
        self.report.add(self.path, line, level, message);
    }

    fn unchecked(&mut self, line: usize, what: &str, lookup: &str, why: &str) {
        self.add(
            line,
            Level::Warning,
            format!("DNS: {what} could not be checked: the lookup of {lookup} failed ({why}); run check --dns again, or ask the DNS host"),
        );
    }
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast())
        }
        IpAddr::V6(v6) => {
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80)
        }
    }
}

/// The relay's addresses: the host itself when it is one, else its A and
/// AAAA records; `None` when they cannot be known.
fn relay_addresses(dns: &mut Dns, host: &str, line: usize, out: &mut Out) -> Option<Vec<IpAddr>> {
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Some(vec![ip]);
    }
    match dns.addresses(host) {
        Ok(ips) if ips.is_empty() => {
            out.add(line, Level::Error, format!("DNS: the relay {host} has no A or AAAA record: publish its address, or fix [smtp] host"));
            None
        }
        Ok(ips) => Some(ips),
        Err(why) => {
            out.unchecked(line, "the relay's address", &format!("A/AAAA {host}"), &why);
            None
        }
    }
}

/// What one SPF evaluation found.
#[derive(Default)]
struct SpfWalk {
    /// DNS-querying terms met (RFC 7208 §4.6.4).
    lookups: usize,
    /// Records that cannot be evaluated (an include without SPF, two
    /// records), as finding messages.
    broken: Vec<String>,
    /// Lookups that failed.
    failed: Vec<(String, String)>,
}

/// One SPF term's qualifier: `+`, `-`, `~` or `?`.
fn qualifier(term: &str) -> (char, &str) {
    match term.chars().next() {
        Some(q @ ('+' | '-' | '~' | '?')) => (q, &term[1..]),
        _ => ('+', term),
    }
}

/// The `v=spf1` records among TXT records.
fn spf_records(txt: &[String]) -> Vec<&String> {
    txt.iter()
        .filter(|t| {
            let t = t.trim_start();
            t.len() >= 6
                && t[..6].eq_ignore_ascii_case("v=spf1")
                && t[6..].chars().next().is_none_or(|c| c == ' ')
        })
        .collect()
}

/// `name[/cidr]` of `a` and `mx`, with the current domain as the default.
fn domain_and_cidr<'a>(
    arg: Option<&'a str>,
    current: &'a str,
) -> (&'a str, Option<u8>, Option<u8>) {
    let arg = arg.unwrap_or("");
    let mut parts = arg.splitn(2, '/');
    let name = parts.next().unwrap_or("");
    let name = if name.is_empty() { current } else { name };
    let rest = parts.next();
    let (v4, v6) = match rest {
        None => (None, None),
        Some(rest) => {
            // `24`, `24//64` or `/64` (the leading slash already taken).
            let mut cidrs = rest.splitn(2, "//");
            let v4 = cidrs.next().and_then(|c| c.parse().ok());
            let v6 = cidrs.next().and_then(|c| c.parse().ok());
            if let Some(stripped) = rest.strip_prefix('/') {
                (None, stripped.parse().ok())
            } else {
                (v4, v6)
            }
        }
    };
    (name, v4, v6)
}

fn in_network(ip: IpAddr, net: IpAddr, prefix: Option<u8>) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let bits = u32::from(prefix.unwrap_or(32).min(32));
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let bits = u32::from(prefix.unwrap_or(128).min(128));
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// Evaluates the SPF record of `domain` for `ips` far enough to say which
/// of them it permits (a `+` match), counting its lookups; every include
/// is followed, so the count is that of the whole tree. `None` when the
/// domain has no usable record.
fn spf_eval(
    dns: &mut Dns,
    domain: &str,
    record: &str,
    ips: &[IpAddr],
    depth: usize,
    walk: &mut SpfWalk,
) -> Vec<Option<char>> {
    // For each address, the qualifier of the first term that matched.
    let mut result: Vec<Option<char>> = vec![None; ips.len()];
    let mut redirect = None;
    for term in record.split_ascii_whitespace().skip(1) {
        let lower = term.to_ascii_lowercase();
        if let Some(target) = lower.strip_prefix("redirect=") {
            walk.lookups += 1;
            redirect = Some(target.to_string());
            continue;
        }
        if lower.contains('=') {
            continue; // exp= and unknown modifiers
        }
        let (q, mechanism) = qualifier(&lower);
        let matched = spf_term(dns, domain, term, mechanism, ips, depth, walk);
        for (slot, hit) in result.iter_mut().zip(matched) {
            if slot.is_none() && hit {
                *slot = Some(q);
            }
        }
    }
    let open = result.iter().any(Option::is_none);
    if let Some(target) = redirect.filter(|_| open) {
        if depth < 10 && walk.lookups <= SPF_LOOKUP_LIMIT * 2 {
            if let Some(inner) = spf_of(dns, &target, walk) {
                let redirected = spf_eval(dns, &target, &inner, ips, depth + 1, walk);
                for (slot, r) in result.iter_mut().zip(redirected) {
                    if slot.is_none() {
                        *slot = r;
                    }
                }
            }
        }
    }
    result
}

/// Which of `ips` one mechanism of the SPF record of `domain` matches.
fn spf_term(
    dns: &mut Dns,
    domain: &str,
    term: &str,
    mechanism: &str,
    ips: &[IpAddr],
    depth: usize,
    walk: &mut SpfWalk,
) -> Vec<bool> {
    let (name, arg) = match mechanism.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => match mechanism.split_once('/') {
            Some((n, _)) => (n, Some(&mechanism[n.len()..])),
            None => (mechanism, None),
        },
    };
    // Macros (%{...}) are not expanded: such a term matches nothing here.
    let macro_term = arg.is_some_and(|a| a.contains('%'));
    match name {
        "all" => vec![true; ips.len()],
        "ip4" | "ip6" => {
            let arg = arg.unwrap_or("");
            let (net, prefix) = match arg.split_once('/') {
                Some((n, p)) => (n, p.parse().ok()),
                None => (arg, None),
            };
            match net.parse::<IpAddr>() {
                Ok(net) => ips.iter().map(|ip| in_network(*ip, net, prefix)).collect(),
                Err(_) => {
                    walk.broken.push(format!("the term `{term}` of the SPF record of {domain} is not an address: receivers reject the whole record (permerror)"));
                    vec![false; ips.len()]
                }
            }
        }
        "a" | "mx" => {
            walk.lookups += 1;
            let mx = name == "mx";
            spf_hosts(dns, domain, arg, mx, !macro_term, ips, walk)
        }
        "include" => {
            walk.lookups += 1;
            let target = arg.unwrap_or("").to_string();
            if macro_term || walk.lookups > SPF_LOOKUP_LIMIT * 2 || depth >= 10 {
                return vec![false; ips.len()];
            }
            match spf_of(dns, &target, walk) {
                Some(inner) => spf_eval(dns, &target, &inner, ips, depth + 1, walk)
                    .into_iter()
                    .map(|r| r == Some('+'))
                    .collect(),
                None => vec![false; ips.len()],
            }
        }
        "ptr" | "exists" => {
            walk.lookups += 1;
            vec![false; ips.len()]
        }
        _ => vec![false; ips.len()],
    }
}

/// Which of `ips` an `a` or (with `mx`) an `mx` mechanism matches: the
/// addresses of the target, or of its mail exchangers (at most 10);
/// nothing is looked up for a macro (`lookup` false) or past the limit.
fn spf_hosts(
    dns: &mut Dns,
    domain: &str,
    arg: Option<&str>,
    mx: bool,
    lookup: bool,
    ips: &[IpAddr],
    walk: &mut SpfWalk,
) -> Vec<bool> {
    let (target, v4, v6) = domain_and_cidr(arg.map(|a| a.trim_start_matches(':')), domain);
    let target = target.to_string();
    let hosts = if !lookup || walk.lookups > SPF_LOOKUP_LIMIT {
        Ok(Vec::new())
    } else if !mx {
        Ok(vec![target.clone()])
    } else {
        dns.mx(&target).map(|mut m| {
            m.truncate(10);
            m
        })
    };
    let mut nets = Vec::new();
    match hosts {
        Ok(hosts) => {
            for host in hosts {
                match dns.addresses(&host) {
                    Ok(found) => nets.extend(found),
                    Err(why) => walk.failed.push((format!("A/AAAA {host}"), why)),
                }
            }
        }
        Err(why) => walk.failed.push((format!("MX {target}"), why)),
    }
    ips.iter()
        .map(|ip| {
            nets.iter().any(|net| {
                let prefix = if net.is_ipv4() { v4 } else { v6 };
                in_network(*ip, *net, prefix)
            })
        })
        .collect()
}

/// The one SPF record of an included or redirected domain; a missing or
/// doubled one is noted as broken.
fn spf_of(dns: &mut Dns, domain: &str, walk: &mut SpfWalk) -> Option<String> {
    match dns.txt(domain) {
        Err(why) => {
            walk.failed.push((format!("TXT {domain}"), why));
            None
        }
        Ok(txt) => match spf_records(&txt)[..] {
            [one] => Some(one.clone()),
            [] => {
                walk.broken.push(format!("{domain}, which the SPF record includes, has no SPF record: receivers reject the whole record (permerror)"));
                None
            }
            _ => {
                walk.broken.push(format!("{domain}, which the SPF record includes, has more than one SPF record: receivers reject the whole record (permerror)"));
                None
            }
        },
    }
}

/// The mechanism that names `ip` in a record.
fn ip_term(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("ip4:{v4}"),
        IpAddr::V6(v6) => format!("ip6:{v6}"),
    }
}

fn check_spf(dns: &mut Dns, domain: &str, ips: &[IpAddr], line: usize, out: &mut Out) {
    let terms: Vec<String> = ips.iter().map(|ip| ip_term(*ip)).collect();
    let suggested = match terms.is_empty() {
        true => "v=spf1 ip4:RELAY-ADDRESS ~all".to_string(),
        false => format!("v=spf1 {} ~all", terms.join(" ")),
    };
    let txt = match dns.txt(domain) {
        Ok(txt) => txt,
        Err(why) => {
            return out.unchecked(
                line,
                &format!("SPF of {domain}"),
                &format!("TXT {domain}"),
                &why,
            )
        }
    };
    let records = spf_records(&txt);
    let record = match records[..] {
        [] => {
            return out.add(line, Level::Error, format!("DNS: SPF: {domain} has no SPF record: publish `{domain}. TXT \"{suggested}\"` ({SPF_WHO})"));
        }
        [one] => one.clone(),
        _ => {
            let found = records
                .iter()
                .map(|r| format!("\"{r}\""))
                .collect::<Vec<_>>()
                .join(", ");
            return out.add(line, Level::Error, format!("DNS: SPF: {domain} has {} SPF records ({found}): receivers reject them all (RFC 7208 permerror); merge them into one TXT record at {domain} ({SPF_WHO})", records.len()));
        }
    };
    let mut walk = SpfWalk::default();
    let result = spf_eval(dns, domain, &record, ips, 0, &mut walk);
    for message in &walk.broken {
        out.add(
            line,
            Level::Error,
            format!("DNS: SPF: {message}; fix the record `{domain}. TXT \"{record}\"` ({SPF_WHO})"),
        );
    }
    if walk.lookups > SPF_LOOKUP_LIMIT {
        out.add(line, Level::Error, format!("DNS: SPF: the SPF record of {domain} needs {} DNS lookups (include, a, mx, ptr, exists, redirect, counted through every include), over the limit of {SPF_LOOKUP_LIMIT}: receivers reject it (RFC 7208 §4.6.4 permerror); replace includes by ip4:/ip6: terms in `{domain}. TXT \"{record}\"` ({SPF_WHO})", walk.lookups));
    } else if !walk.failed.is_empty() {
        let (lookup, why) = &walk.failed[0];
        out.unchecked(line, &format!("SPF of {domain}"), lookup, why);
    } else if walk.broken.is_empty() {
        for (ip, r) in ips.iter().zip(&result) {
            if *r != Some('+') {
                out.add(line, Level::Error, format!("DNS: SPF: the SPF record of {domain} does not permit the relay's address {ip}: add `{}` to `{domain}. TXT \"{record}\"` ({SPF_WHO})", ip_term(*ip)));
            }
        }
    }
    check_spf_end(domain, &record, line, out);
}

/// How the SPF record of `domain` ends: `~all` or `-all`, or a warning.
fn check_spf_end(domain: &str, record: &str, line: usize, out: &mut Out) {
    let last = record
        .split_ascii_whitespace()
        .skip(1)
        .filter(|t| !t.contains('='))
        .last()
        .map(str::to_ascii_lowercase);
    let has_redirect = record.to_ascii_lowercase().contains("redirect=");
    match last.as_deref() {
        Some("~all" | "-all") => {}
        Some(all @ ("+all" | "all")) => out.add(line, Level::Warning, format!("DNS: SPF: the SPF record of {domain} ends in `{all}`, which lets anyone send as {domain}: end it in `~all` or `-all` ({SPF_WHO})")),
        Some("?all") => out.add(line, Level::Warning, format!("DNS: SPF: the SPF record of {domain} ends in `?all`, which says nothing of other senders: end it in `~all` or `-all` ({SPF_WHO})")),
        _ if has_redirect => {}
        _ => out.add(line, Level::Warning, format!("DNS: SPF: the SPF record of {domain} has no `all` at its end, so mail from other addresses is neutral: end it in `~all` or `-all` ({SPF_WHO})")),
    }
}

/// The value of `tag` in a `tag=value; ...` record (DKIM, DMARC).
fn tag<'a>(record: &'a str, name: &str) -> Option<&'a str> {
    record.split(';').find_map(|part| {
        let (k, v) = part.split_once('=')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn check_dkim(dns: &mut Dns, config: &Config, text: &str, out: &mut Out) {
    let tables: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| matches!(l.trim(), "[dkim]" | "[[dkim]]"))
        .map(|(i, _)| i + 1)
        .collect();
    for (i, table) in config.file.dkim.iter().enumerate() {
        let line = tables.get(i).copied().unwrap_or(1);
        check_dkim_key(dns, config, table, line, out);
    }
}

/// Whether the base64 `published` key of kind `k` is `public`: RSA keys
/// are compared as RSAPublicKey, whether the record wraps theirs in a
/// SubjectPublicKeyInfo or not.
fn same_key(k: &str, published: &str, public: &[u8]) -> bool {
    use base64::Engine;
    let bare = |der: &[u8]| match k {
        "rsa" => spki_key(der).unwrap_or(der).to_vec(),
        _ => der.to_vec(),
    };
    base64::engine::general_purpose::STANDARD
        .decode(published)
        .is_ok_and(|bytes| bare(&bytes) == bare(public))
}

/// One `[[dkim]]` table's key against its TXT record.
fn check_dkim_key(
    dns: &mut Dns,
    config: &Config,
    table: &crate::config::Dkim,
    line: usize,
    out: &mut Out,
) {
    use crate::message::dkim;
    use base64::Engine;
    let name = format!("{}._domainkey.{}", table.selector, table.domain).to_lowercase();
    // A key that does not load is reported by the setup checks.
    let Ok(key) = dkim::load_key(config, table) else {
        return;
    };
    let public = dkim::public_key(&key);
    let (k, kind) = match key {
        dkim::Key::Ed25519(_) => ("ed25519", "Ed25519"),
        _ => ("rsa", "RSA"),
    };
    let p = base64::engine::general_purpose::STANDARD.encode(&public);
    let publish = format!("`{name}. TXT \"v=DKIM1; k={k}; p={p}\"`");
    let txt = match dns.txt(&name) {
        Ok(txt) => txt,
        Err(why) => {
            out.unchecked(
                line,
                &format!("the DKIM key {name}"),
                &format!("TXT {name}"),
                &why,
            );
            return;
        }
    };
    let records: Vec<&String> = txt
        .iter()
        .filter(|t| tag(t, "p").is_some() || tag(t, "v").is_some_and(|v| v == "DKIM1"))
        .collect();
    let Some(record) = records.first() else {
        out.add(
            line,
            Level::Error,
            format!("DNS: DKIM: no DKIM key at {name}: publish {publish} ({DKIM_WHO})"),
        );
        return;
    };
    let published: String = tag(record, "p")
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if published.is_empty() {
        out.add(line, Level::Error, format!("DNS: DKIM: the key at {name} is revoked (empty p=): publish {publish} ({DKIM_WHO})"));
        return;
    }
    if !same_key(k, &published, &public) {
        out.add(line, Level::Error, format!("DNS: DKIM: the key published at {name} is not the public half of the {kind} private key in {}: receivers cannot verify the signature; publish {publish} ({DKIM_WHO})", dkim::key_path(config, table).display()));
    }
}

/// The key inside a DER SubjectPublicKeyInfo: the content of its BIT
/// STRING after the unused-bits octet.
fn spki_key(der: &[u8]) -> Option<&[u8]> {
    fn next(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = der.split_first()?;
        let (&len0, rest) = rest.split_first()?;
        let (len, rest) = match len0 {
            n if n < 0x80 => (usize::from(n), rest),
            0x81..=0x84 => {
                let n = usize::from(len0 & 0x7f);
                if rest.len() < n {
                    return None;
                }
                let len = rest[..n]
                    .iter()
                    .fold(0usize, |a, b| (a << 8) | usize::from(*b));
                (len, &rest[n..])
            }
            _ => return None,
        };
        (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
    }
    let (0x30, spki, _) = next(der)? else {
        return None;
    };
    let (0x30, _, rest) = next(spki)? else {
        return None;
    };
    let (0x03, bits, _) = next(rest)? else {
        return None;
    };
    match bits.split_first()? {
        (0, key) => Some(key),
        _ => None,
    }
}

fn check_dmarc(
    dns: &mut Dns,
    config: &Config,
    from_domain: &str,
    envelope_domain: &str,
    line: usize,
    out: &mut Out,
) {
    let org = organisational(from_domain);
    let publish =
        format!("`_dmarc.{from_domain}. TXT \"v=DMARC1; p=none; rua=mailto:dmarc@{from_domain}\"`");
    let mut found = None;
    let mut names = vec![format!("_dmarc.{from_domain}")];
    if org != from_domain {
        names.push(format!("_dmarc.{org}"));
    }
    for name in &names {
        match dns.txt(name) {
            Err(why) => {
                return out.unchecked(
                    line,
                    &format!("DMARC of {from_domain}"),
                    &format!("TXT {name}"),
                    &why,
                )
            }
            Ok(txt) => {
                let records: Vec<String> = txt
                    .into_iter()
                    .filter(|t| t.trim_start().to_ascii_lowercase().starts_with("v=dmarc1"))
                    .collect();
                if !records.is_empty() {
                    found = Some((name.clone(), records));
                    break;
                }
            }
        }
    }
    let Some((name, records)) = found else {
        return out.add(line, Level::Error, format!("DNS: DMARC: {from_domain} has no DMARC record (looked up {}): publish {publish} ({DMARC_WHO})", names.join(" and ")));
    };
    if records.len() > 1 {
        return out.add(line, Level::Error, format!("DNS: DMARC: {name} has {} DMARC records: receivers ignore them all (RFC 7489 §6.6.3); keep one ({DMARC_WHO})", records.len()));
    }
    let record = &records[0];
    if !valid_dmarc(record) {
        return out.add(line, Level::Error, format!("DNS: DMARC: the record `{name}. TXT \"{record}\"` is not valid: it must start with `v=DMARC1;` and hold `p=none`, `p=quarantine` or `p=reject`; publish {publish} ({DMARC_WHO})"));
    }
    check_alignment(
        config,
        (from_domain, envelope_domain),
        &name,
        record,
        line,
        out,
    );
}

/// Whether a DMARC record starts with `v=DMARC1` and holds a policy.
fn valid_dmarc(record: &str) -> bool {
    let first_is_v = record
        .split(';')
        .next()
        .is_some_and(|t| t.trim().replace(' ', "") == "v=DMARC1");
    let policy = tag(record, "p").map(str::to_ascii_lowercase);
    first_is_v && matches!(policy.as_deref(), Some("none" | "quarantine" | "reject"))
}

/// The alignment of From with the envelope sender (SPF) and the DKIM
/// domains under the DMARC record `record` found at `name`.
fn check_alignment(
    config: &Config,
    (from_domain, envelope_domain): (&str, &str),
    name: &str,
    record: &str,
    line: usize,
    out: &mut Out,
) {
    let org = organisational(from_domain);
    let strict = |t: &str| tag(record, t).is_some_and(|v| v.eq_ignore_ascii_case("s"));
    let spf_ok = aligned(from_domain, envelope_domain, strict("aspf"));
    let dkim: Vec<&str> = config.file.dkim.iter().map(|d| d.domain.as_str()).collect();
    let dkim_ok = dkim
        .iter()
        .any(|d| aligned(from_domain, d, strict("adkim")));
    // A DKIM domain not aligned even relaxed is the setup checks' finding.
    let dkim_relaxed = dkim.iter().any(|d| aligned(from_domain, d, false));
    if !spf_ok && !dkim_ok {
        out.add(line, Level::Error, format!("DNS: DMARC: neither the envelope sender's domain {envelope_domain} (SPF) nor a DKIM domain ({}) is aligned with From {from_domain} under `{name}. TXT \"{record}\"`: every message fails DMARC; set [bounces] return_path and [dkim] domain under {org}, or relax aspf/adkim ({DMARC_WHO})", if dkim.is_empty() { "none".to_string() } else { dkim.join(", ") }));
    } else if !spf_ok {
        out.add(line, Level::Warning, format!("DNS: DMARC: the envelope sender's domain {envelope_domain} is not aligned with From {from_domain} under `{name}. TXT \"{record}\"` (aspf={}): DMARC rests on DKIM alone; drop `aspf=s` or send from an aligned return_path ({DMARC_WHO})", if strict("aspf") { "s" } else { "r" }));
    } else if !dkim_ok && dkim_relaxed {
        out.add(line, Level::Warning, format!("DNS: DMARC: no DKIM domain ({}) is aligned with From {from_domain} under `{name}. TXT \"{record}\"` (adkim=s): DMARC rests on SPF alone, which forwarding breaks; drop `adkim=s` or sign with d={from_domain} ({DMARC_WHO})", dkim.join(", ")));
    }
}

fn check_mx(dns: &mut Dns, domain: &str, line: usize, out: &mut Out) {
    match dns.mx(domain) {
        Err(why) => out.unchecked(line, &format!("the MX of {domain}"), &format!("MX {domain}"), &why),
        Ok(mx) if mx.iter().any(|m| m.is_empty()) => out.add(line, Level::Error, format!("DNS: MX: {domain} publishes a null MX (`MX 0 .`): it takes no mail, so bounces and reports are refused; publish `{domain}. MX 10 <your mail host>` ({MX_WHO})")),
        Ok(mx) if !mx.is_empty() => {}
        Ok(_) => match dns.addresses(domain) {
            Err(why) => out.unchecked(line, &format!("the MX of {domain}"), &format!("A/AAAA {domain}"), &why),
            Ok(ips) if ips.is_empty() => out.add(line, Level::Error, format!("DNS: MX: the bounce domain {domain} has no MX (nor A/AAAA) record, so bounces and reports cannot reach it: publish `{domain}. MX 10 <your mail host>` ({MX_WHO})")),
            Ok(_) => {}
        },
    }
}

fn check_ptr(dns: &mut Dns, host: &str, ips: &[IpAddr], line: usize, out: &mut Out) {
    for ip in ips {
        let reverse = reverse_name(*ip);
        let names = match dns.ptr(*ip) {
            Ok(names) => names,
            Err(why) => {
                out.unchecked(
                    line,
                    &format!("the reverse DNS of {ip}"),
                    &format!("PTR {reverse}"),
                    &why,
                );
                continue;
            }
        };
        if names.is_empty() {
            out.add(line, Level::Error, format!("DNS: PTR: the relay's address {ip} has no reverse DNS: ask the owner of {ip} to publish `{reverse}. PTR {host}.` ({PTR_WHO})"));
            continue;
        }
        let mut back = false;
        let mut failed = None;
        for name in names.iter().take(5) {
            match dns.addresses(name) {
                Ok(found) if found.contains(ip) => back = true,
                Ok(_) => {}
                Err(why) => failed = Some((name.clone(), why)),
            }
        }
        match (back, failed) {
            (true, _) => {}
            (false, Some((name, why))) => out.unchecked(line, &format!("the reverse DNS of {ip}"), &format!("A/AAAA {name}"), &why),
            (false, None) => out.add(line, Level::Error, format!("DNS: PTR: the relay's address {ip} has the PTR {}, which does not resolve back to {ip} (no FCrDNS): publish `{}. {} {ip}` or point `{reverse}. PTR` at a name that does ({PTR_WHO})", names.join(", "), names[0], if ip.is_ipv4() { "A" } else { "AAAA" })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_organisational_domain_follows_the_public_suffix_list() {
        assert_eq!(organisational("news.example.co.kr"), "example.co.kr");
        assert_eq!(organisational("letter.news.example.or.kr"), "example.or.kr");
        assert_eq!(organisational("mail.example.co.jp"), "example.co.jp");
        assert_eq!(organisational("news.example.com"), "example.com");
        assert_eq!(organisational("Example.COM."), "example.com");
        assert_eq!(organisational("localhost"), "localhost");
        assert!(aligned("example.com", "news.example.com", false));
        assert!(!aligned("example.com", "news.example.com", true));
        assert!(!aligned("example.com", "example.net", false));
        // Two owners under one public suffix are not aligned.
        assert!(!aligned("news.example.co.kr", "other.co.kr", false));
        assert!(aligned("news.example.co.kr", "bounce.example.co.kr", false));
    }

    #[test]
    fn reverse_names_of_v4_and_v6() {
        assert_eq!(
            reverse_name("192.0.2.10".parse().unwrap()),
            "10.2.0.192.in-addr.arpa"
        );
        assert!(reverse_name("2001:db8::1".parse().unwrap()).starts_with(
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        ));
    }

    #[test]
    fn networks_and_spf_records() {
        let ip: IpAddr = "192.0.2.10".parse().unwrap();
        assert!(in_network(ip, "192.0.2.0".parse().unwrap(), Some(24)));
        assert!(!in_network(ip, "192.0.3.0".parse().unwrap(), Some(24)));
        assert!(in_network(ip, "192.0.2.10".parse().unwrap(), None));
        let txt = vec![
            "v=spf1 -all".to_string(),
            "v=spf10".to_string(),
            "google-site".to_string(),
        ];
        assert_eq!(spf_records(&txt).len(), 1);
        assert_eq!(
            domain_and_cidr(Some("mail.example.com/24"), "example.com"),
            ("mail.example.com", Some(24), None)
        );
        assert_eq!(
            domain_and_cidr(None, "example.com"),
            ("example.com", None, None)
        );
    }

    #[test]
    fn a_key_is_found_inside_its_subject_public_key_info() {
        // SEQUENCE { SEQUENCE { OID }, BIT STRING { 0, 0xAB 0xCD } }
        let der = [
            0x30, 0x0b, 0x30, 0x04, 0x06, 0x02, 0x2a, 0x03, 0x03, 0x03, 0x00, 0xab, 0xcd,
        ];
        assert_eq!(spki_key(&der), Some(&[0xab, 0xcd][..]));
        assert_eq!(spki_key(&[0x30, 0x01]), None);
    }
}

//! `letterpress check --dns --dns-server 127.0.0.1:PORT` against a real
//! authoritative server (Knot DNS) serving example.com and the relay's
//! reverse zone: a correct setup gives no DNS finding, and each fault in
//! the zones gives exactly one, naming the record to publish or fix.

use crate::knot::{self, txt, Knot};
use crate::support::{self, Project};

use std::process::Command;

/// The relay's address (TEST-NET-1: never reached, only looked up).
const RELAY_IP: &str = "192.0.2.10";

/// A project whose relay is relay.example.com, signed with an RSA key
/// (selector `lp`) and an Ed25519 key (selector `ed`), and the public
/// halves of its keys as `p=` values, plus another RSA key's.
struct Setup {
    project: Project,
    rsa_p: String,
    ed_p: String,
    other_rsa_p: String,
}

fn openssl(dir: &std::path::Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The base64 `p=` of the key in `pem` (under `dir`): the DER
/// SubjectPublicKeyInfo for RSA, the 32 raw bytes for Ed25519.
fn public_p(dir: &std::path::Path, pem: &str, raw_ed25519: bool) -> String {
    let der = openssl(dir, &["pkey", "-in", pem, "-pubout", "-outform", "DER"]);
    let bytes = if raw_ed25519 {
        der[der.len() - 32..].to_vec()
    } else {
        der
    };
    let file = format!("{pem}.pub");
    std::fs::write(dir.join(&file), bytes).unwrap();
    String::from_utf8(openssl(dir, &["base64", "-A", "-in", &file]))
        .unwrap()
        .trim()
        .to_string()
}

fn setup() -> Option<Setup> {
    if !knot::available() || !support::require("/usr/bin/openssl", "apt-get install -y openssl") {
        return None;
    }
    let project = Project::example();
    let config = project.path("config");
    openssl(
        &config,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "lp.pem",
        ],
    );
    openssl(
        &config,
        &["genpkey", "-algorithm", "ed25519", "-out", "ed.pem"],
    );
    openssl(
        &config,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "other.pem",
        ],
    );
    for key in ["lp.pem", "ed.pem"] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(config.join(key), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let setup = Setup {
        rsa_p: public_p(&config, "lp.pem", false),
        ed_p: public_p(&config, "ed.pem", true),
        other_rsa_p: public_p(&config, "other.pem", false),
        project,
    };
    let config = setup.project.read("config/newsletter.toml");
    let config = config
        .replace("host         = \"127.0.0.1\"", "host         = \"relay.example.com\"")
        .replace("port         = 2525", "port         = 587")
        .replace("security     = \"none\"", "security     = \"starttls\"")
        + "\n[[dkim]]\ndomain = \"example.com\"\nselector = \"lp\"\nprivate_key_file = \"lp.pem\"\n\
           \n[[dkim]]\ndomain = \"example.com\"\nselector = \"ed\"\nprivate_key_file = \"ed.pem\"\nalgorithm = \"ed25519\"\n";
    setup.project.write("config/newsletter.toml", config);
    Some(setup)
}

/// The zone of example.com, correct: the bounce domain news.example.com
/// has its MX and an SPF record that includes the relay through `a:`.
fn example_zone(s: &Setup) -> String {
    format!(
        "$ORIGIN example.com.\n$TTL 300\n\
         @ SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 300\n\
         @ NS ns.example.com.\n\
         ns A 192.0.2.1\n\
         @ MX 10 mx.example.com.\n\
         mx A 192.0.2.2\n\
         relay A {RELAY_IP}\n\
         news MX 10 mx.example.com.\n\
         news TXT \"v=spf1 include:_spf.example.com ~all\"\n\
         _spf TXT \"v=spf1 a:relay.example.com -all\"\n\
         _dmarc TXT \"v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com\"\n\
         lp._domainkey TXT {}\n\
         ed._domainkey TXT {}\n",
        txt(&format!("v=DKIM1; k=rsa; p={}", s.rsa_p)),
        txt(&format!("v=DKIM1; k=ed25519; p={}", s.ed_p)),
    )
}

/// The reverse zone of 192.0.2.0/24: the relay's PTR.
fn reverse_zone() -> String {
    "$ORIGIN 2.0.192.in-addr.arpa.\n$TTL 300\n\
     @ SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 300\n\
     @ NS ns.example.com.\n\
     10 PTR relay.example.com.\n"
        .to_string()
}

/// `check --dns` against the zones: the DNS findings as `line: level:
/// message` lines, and the exit code.
fn dns_findings(s: &Setup, example: String, reverse: String) -> (Vec<String>, i32) {
    let knot = Knot::start(&[("example.com", example), ("2.0.192.in-addr.arpa", reverse)]);
    let output = s
        .project
        .cmd()
        .args([
            "check",
            "issues/example",
            "--format",
            "json",
            "--dns-server",
        ])
        .arg(knot.server())
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let findings = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["message"].as_str().unwrap().starts_with("DNS:"))
        .map(|f| {
            format!(
                "{}: {}: {}",
                f["line"],
                f["level"].as_str().unwrap(),
                f["message"].as_str().unwrap()
            )
        })
        .collect();
    (findings, output.status.code().unwrap())
}

/// The one DNS finding of a faulty zone, which must name `record`.
fn one_finding(s: &Setup, example: String, reverse: String, record: &str) -> String {
    let (findings, _) = dns_findings(s, example, reverse);
    assert_eq!(findings.len(), 1, "expected one DNS finding: {findings:#?}");
    assert!(
        findings[0].contains(record),
        "the finding does not name {record}: {}",
        findings[0]
    );
    findings.into_iter().next().unwrap()
}

fn without(zone: &str, line_start: &str) -> String {
    assert!(zone.contains(line_start), "no {line_start} in the zone");
    zone.lines()
        .filter(|l| !l.starts_with(line_start))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn a_correct_zone_gives_no_dns_finding() {
    let Some(s) = setup() else { return };
    let (findings, _) = dns_findings(&s, example_zone(&s), reverse_zone());
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn no_spf_record_is_an_error_naming_the_record() {
    let Some(s) = setup() else { return };
    let zone = without(&example_zone(&s), "news TXT");
    let finding = one_finding(
        &s,
        zone,
        reverse_zone(),
        "news.example.com. TXT \"v=spf1 ip4:192.0.2.10 ~all\"",
    );
    assert!(
        finding.contains(": error: ") && finding.contains("Gmail"),
        "{finding}"
    );
}

#[test]
fn two_spf_records_are_one_error() {
    let Some(s) = setup() else { return };
    let zone = example_zone(&s) + "news TXT \"v=spf1 -all\"\n";
    let finding = one_finding(&s, zone, reverse_zone(), "2 SPF records");
    assert!(finding.contains("news.example.com"), "{finding}");
}

#[test]
fn spf_without_the_relay_is_an_error_naming_its_address() {
    let Some(s) = setup() else { return };
    let zone = example_zone(&s).replace(
        "_spf TXT \"v=spf1 a:relay.example.com -all\"",
        "_spf TXT \"v=spf1 a:mx.example.com ip4:198.51.100.0/24 -all\"",
    );
    let finding = one_finding(&s, zone, reverse_zone(), "add `ip4:192.0.2.10`");
    assert!(finding.contains("news.example.com. TXT"), "{finding}");
}

#[test]
fn spf_over_ten_lookups_is_an_error() {
    let Some(s) = setup() else { return };
    // _spf.example.com (with its `a:`) and ten more: 12 lookups.
    let includes: String = (1..=10)
        .map(|n| format!(" include:s{n}.example.com"))
        .collect();
    let mut zone = example_zone(&s).replace(
        "news TXT \"v=spf1 include:_spf.example.com ~all\"",
        &format!("news TXT \"v=spf1 include:_spf.example.com{includes} ~all\""),
    );
    for n in 1..=10 {
        zone.push_str(&format!("s{n} TXT \"v=spf1 ip4:198.51.100.{n} -all\"\n"));
    }
    let finding = one_finding(&s, zone, reverse_zone(), "12 DNS lookups");
    assert!(finding.contains("news.example.com. TXT"), "{finding}");
}

#[test]
fn a_missing_dkim_record_is_an_error_with_the_record_to_publish() {
    let Some(s) = setup() else { return };
    let zone = without(&example_zone(&s), "lp._domainkey");
    let record = "lp._domainkey.example.com. TXT \"v=DKIM1; k=rsa; p=";
    let finding = one_finding(&s, zone, reverse_zone(), record);
    // The key to publish is the configured key's public half, as openssl
    // writes it.
    assert!(finding.contains(&format!("p={}\"`", s.rsa_p)), "{finding}");
}

#[test]
fn a_dkim_record_of_another_key_is_an_error() {
    let Some(s) = setup() else { return };
    let zone = example_zone(&s).replace(&s.rsa_p[..200], &s.other_rsa_p[..200]);
    let finding = one_finding(
        &s,
        zone,
        reverse_zone(),
        "the key published at lp._domainkey.example.com is not the public half",
    );
    assert!(finding.contains("lp.pem"), "{finding}");
}

#[test]
fn no_dmarc_record_is_an_error() {
    let Some(s) = setup() else { return };
    let zone = without(&example_zone(&s), "_dmarc");
    one_finding(
        &s,
        zone,
        reverse_zone(),
        "_dmarc.example.com. TXT \"v=DMARC1; p=none",
    );
}

#[test]
fn dmarc_with_strict_spf_alignment_warns_of_the_envelope_domain() {
    let Some(s) = setup() else { return };
    let zone = example_zone(&s).replace("p=quarantine;", "p=reject; aspf=s;");
    let finding = one_finding(
        &s,
        zone,
        reverse_zone(),
        "news.example.com is not aligned with From example.com",
    );
    assert!(
        finding.contains(": warning: ") && finding.contains("_dmarc.example.com. TXT"),
        "{finding}"
    );
}

#[test]
fn a_bounce_domain_without_mx_or_address_is_an_error() {
    let Some(s) = setup() else { return };
    let zone = without(&example_zone(&s), "news MX");
    one_finding(&s, zone, reverse_zone(), "news.example.com. MX 10");
}

#[test]
fn a_relay_without_ptr_is_an_error() {
    let Some(s) = setup() else { return };
    let reverse = without(&reverse_zone(), "10 PTR");
    one_finding(
        &s,
        example_zone(&s),
        reverse,
        "10.2.0.192.in-addr.arpa. PTR relay.example.com.",
    );
}

#[test]
fn a_ptr_that_does_not_resolve_back_is_an_error() {
    let Some(s) = setup() else { return };
    let zone = example_zone(&s) + "other A 192.0.2.99\n";
    let reverse = reverse_zone().replace("PTR relay.example.com.", "PTR other.example.com.");
    let finding = one_finding(&s, zone, reverse, "other.example.com. A 192.0.2.10");
    assert!(finding.contains("FCrDNS"), "{finding}");
}

#[test]
fn a_server_that_does_not_answer_is_not_checked_rather_than_missing() {
    let Some(s) = setup() else { return };
    // A UDP port that nobody answers (bound, never read) and TCP refused.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let server = silent.local_addr().unwrap().to_string();
    let started = std::time::Instant::now();
    let output = s
        .project
        .cmd()
        .args(["check", "issues/example", "--dns-server", &server])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(45),
        "check hung"
    );
    assert!(stdout.contains("could not be checked"), "{stdout}");
    assert!(!stdout.contains("has no SPF record"), "{stdout}");
    assert!(!stdout.contains("no DKIM key"), "{stdout}");
}

#[test]
fn a_dns_server_without_a_port_is_refused_with_the_form_to_use() {
    let project = Project::example();
    project
        .cmd()
        .args(["check", "issues/example", "--dns-server", "127.0.0.1"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("HOST:PORT"));
}

#[test]
fn every_relay_must_be_in_spf_and_have_its_ptr_at_its_own_line() {
    let Some(s) = setup() else { return };
    let config = s.project.read("config/newsletter.toml");
    let start = config.find("[smtp]").unwrap();
    let end = start + config[start..].find("\n\n").unwrap();
    let relays = "[[smtp]]\nname = \"one\"\nhost = \"relay.example.com\"\n\n[[smtp]]\nname = \"two\"\nhost = \"relay2.example.com\"\nrole = \"fallback\"";
    let config = format!("{}{relays}{}", &config[..start], &config[end..]);
    let second = config[..config.find("relay2.example.com").unwrap()]
        .lines()
        .count();
    s.project.write("config/newsletter.toml", config);
    let zone = example_zone(&s) + "relay2 A 192.0.2.11\n";
    let (findings, _) = dns_findings(&s, zone.clone(), reverse_zone());
    assert_eq!(findings.len(), 2, "{findings:#?}");
    assert!(
        findings.iter().any(|f| f.contains("add `ip4:192.0.2.11`")),
        "{findings:#?}"
    );
    let ptr =
        format!("{second}: error: DNS: PTR: the relay's address 192.0.2.11 has no reverse DNS");
    assert!(
        findings.iter().any(|f| f.starts_with(&ptr)),
        "{ptr}: {findings:#?}"
    );
    // Both relays published: nothing to report.
    let zone = zone.replace(
        "_spf TXT \"v=spf1 a:relay.example.com -all\"",
        "_spf TXT \"v=spf1 a:relay.example.com a:relay2.example.com -all\"",
    );
    let reverse = reverse_zone() + "11 PTR relay2.example.com.\n";
    let (findings, _) = dns_findings(&s, zone, reverse);
    assert!(findings.is_empty(), "{findings:#?}");
}

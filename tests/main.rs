//! The integration tests, linked once: one module per area, the shared rigs
//! (a project copy, a scripted SMTP relay, servers and browsers) under
//! `support/`.

#[path = "support/knot.rs"]
mod knot;
#[path = "support/rigs.rs"]
mod rigs;
#[path = "support/smtp.rs"]
mod smtp;
mod support;

mod archive;
mod bounces;
mod browser;
mod check;
mod cli;
mod compose;
mod consent;
mod delivery;
mod dns;
mod docs;
mod exit_codes;
mod faults;
mod images;
mod init;
mod layers;
mod messages;
mod preferences;
mod promises;
mod properties;
mod relays;
mod schedule;
mod serve;
mod subscribe;
mod subscribers;
mod tracking;
mod transport;

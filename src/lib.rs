//! letterpress: compose a folder of Markdown sections into a responsive HTML
//! email with a plain-text twin, and send it to a subscriber list.
//!
//! The pipeline reads top to bottom: [`Config::load`] → [`Issue::load`] →
//! [`Theme::load`] → [`Composed::new`] → per reader
//! [`Composed::html`] / [`Composed::text`].

mod address;
pub mod args;
pub mod bounces;
mod build;
mod check;
pub mod cli;
mod compose;
mod config;
mod consent;
pub mod dispatch;
mod erasure;
mod error;
mod fs;
mod images;
mod init;
mod issue;
mod list;
mod message;
mod percent;
pub mod project;
mod redact;
mod rights;
pub mod schedule;
pub mod send;
mod sign;
pub mod signup;
pub mod stats;
mod text;
mod time;
mod timetable;
mod tls;
pub mod tracking;
mod verp;
mod web;
mod window;
pub mod words;

pub use compose::wrap;
pub use compose::{Composed, Theme};
pub use config::Config;
pub use error::Located;
pub use issue::tags::Values;
pub use issue::{Issue, SectionKind};
pub use message::{run_date, Factory, Outgoing, Purpose};
pub use sign::{preferences_token, token, verify};

pub use list::{export_csv, import_csv, Editor, ImportReport, List, Status, Subscriber};

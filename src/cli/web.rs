//! `letterpress serve`, `letterpress archive --out DIR` and `letterpress stats ISSUE`. Wiring
//! only.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::config::Config;
use crate::plural;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The port to listen on.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// The address to listen on; the default serves this machine only (put a reverse proxy with
    /// TLS in front for the world).
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// Also serve /preview/: the drafts in issues/, reloading on save.
    #[arg(long)]
    preview: bool,
    /// Behind a reverse proxy: count subscribe requests per client by the first X-Forwarded-For
    /// hop instead of the peer address.
    #[arg(long)]
    trust_proxy: bool,
    /// Also send scheduled issues when due (a pass every 30 seconds).
    #[arg(long)]
    schedule: bool,
}

impl ServeArgs {
    pub fn run(self, config: &Path) -> Result<()> {
        let options = crate::web::Options {
            preview: self.preview,
            trust_proxy: self.trust_proxy,
            schedule: self.schedule,
        };
        let bind = std::net::SocketAddr::new(self.bind, self.port);
        crate::web::serve(Config::load(config)?, bind, options)
    }
}

#[derive(Debug, clap::Args)]
pub struct ArchiveArgs {
    /// The folder to write.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

impl ArchiveArgs {
    pub fn run(self, config: &Path) -> Result<()> {
        let written = crate::web::archive::write(&Config::load(config)?, &self.out)?;
        let out = self.out.display();
        println!(
            "Wrote the archive of {written} issue{} to {out}",
            plural(written)
        );
        Ok(())
    }
}

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// The issue folder (or its name under the project's issues/).
    issue: PathBuf,
    /// table (default) or json.
    #[arg(long, value_enum, default_value = "table")]
    format: StatsFormat,
}

/// Output of `stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum StatsFormat {
    /// A table for the terminal.
    Table,
    /// One JSON document.
    Json,
}

impl StatsArgs {
    pub fn run(self, config: &Path) -> Result<()> {
        let config = Config::load(config)?;
        let stats =
            crate::stats::gather(&config, &crate::project::issue_dir(&config, &self.issue))?;
        match self.format {
            StatsFormat::Table => print!("{}", stats.table()),
            StatsFormat::Json => println!("{}", serde_json::to_string_pretty(&stats)?),
        }
        Ok(())
    }
}

//! `letterpress serve` and `letterpress archive --out DIR`. Wiring only.

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

pub fn serve(args: ServeArgs, config: &Path) -> Result<()> {
    let options = crate::web::Options {
        preview: args.preview,
        trust_proxy: args.trust_proxy,
        schedule: args.schedule,
    };
    let bind = std::net::SocketAddr::new(args.bind, args.port);
    crate::web::serve(Config::load(config)?, bind, options)
}

#[derive(Debug, clap::Args)]
pub struct ArchiveArgs {
    /// The folder to write.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub fn archive(args: ArchiveArgs, config: &Path) -> Result<()> {
    let written = crate::web::archive::write(&Config::load(config)?, &args.out)?;
    let out = args.out.display();
    println!(
        "Wrote the archive of {written} issue{} to {out}",
        plural(written)
    );
    Ok(())
}

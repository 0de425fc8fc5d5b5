//! `letterpress serve` and `letterpress archive --out DIR`. Wiring only.

use std::path::Path;

use anyhow::Result;

use crate::args::{ArchiveArgs, ServeArgs};
use crate::config::Config;
use crate::text::plural;

pub fn serve(args: ServeArgs, config: &Path) -> Result<()> {
    let options = crate::web::ServeOptions {
        preview: args.preview,
        trust_proxy: args.trust_proxy,
        schedule: args.schedule,
    };
    let bind = std::net::SocketAddr::new(args.bind, args.port);
    crate::web::serve(Config::load(config)?, bind, options)
}

pub fn archive(args: ArchiveArgs, config: &Path) -> Result<()> {
    let config = Config::load(config)?;
    let written = crate::web::archive::write(&config, &args.out)?;
    let out = args.out.display();
    println!(
        "Wrote the archive of {written} issue{} to {out}",
        plural(written)
    );
    if config.newsletter().base_url.is_none() {
        println!(
            "  No sitemap.xml and no canonical, og:url or og:image tags: they need absolute addresses.\n  help: set base_url in [newsletter] of {} to the public address whose /archive/ holds these files",
            config.path.display()
        );
    }
    Ok(())
}

//! `letterpress bounces import SOURCE [--dry-run] [--format json] [--move-to FOLDER]`. Wiring
//! only.

use std::path::Path;

use anyhow::Result;

use crate::args::{BouncesCommand, CheckFormat};
use crate::bounces::{import_and_report, Options};
use crate::config::Config;

/// Imports the reports of the source and prints what each did.
pub fn import(command: BouncesCommand, config: &Path) -> Result<()> {
    let BouncesCommand::Import {
        source,
        dry_run,
        format,
        move_to,
    } = command;
    let config = Config::load(config)?;
    let options = Options {
        dry_run,
        move_to: move_to.as_deref(),
    };
    let json = format == CheckFormat::Json;
    let (out, notes) = (&mut std::io::stdout().lock(), &mut std::io::stderr());
    import_and_report(&config, &source, options, json, out, notes)
}

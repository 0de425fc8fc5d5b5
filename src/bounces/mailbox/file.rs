//! A single message file.

use std::path::Path;

use super::{Handle, Read, MAX_MESSAGE_BYTES};

/// One message file, unless it is over [`MAX_MESSAGE_BYTES`].
pub fn read(path: &Path, label: String, handle: Handle) -> Read {
    let bytes = match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_MESSAGE_BYTES as u64 => Err(format!(
            "{} bytes: too large to be a report, left alone",
            m.len()
        )),
        Ok(_) => std::fs::read(path).map_err(|e| format!("cannot read: {e}")),
        Err(e) => Err(format!("cannot read: {e}")),
    };
    Read {
        label,
        handle,
        bytes,
    }
}

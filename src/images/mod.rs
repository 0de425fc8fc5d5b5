//! The images a message carries: each local image of an issue resized to
//! at most twice the column's width, re-encoded (JPEG at quality 82, PNG
//! losslessly with the best compression) from its decoded pixels, so that
//! no EXIF, GPS, XMP or comment of the camera's file reaches a reader, its
//! EXIF orientation applied to the pixels first. Animated GIFs are left as
//! they are.
//!
//! Results are kept in `<state_dir>/images/`, named by a hash of the
//! original's bytes and the settings, so that a second build decodes
//! nothing. A result unused for [`UNUSED_FOR`] is removed when the next new
//! one is written, so the folder holds what recent issues use.

mod encode;
mod metadata;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Result;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::Located;
use crate::issue::LocalImage;

pub use encode::process;

/// JPEG quality of the re-encoded photos.
pub const JPEG_QUALITY: u8 = 82;

/// Bumped whenever the pipeline's output for the same input changes, so
/// that old cached files are not used.
const PIPELINE: &str = "letterpress images v1";

/// A cached result not used for this long is removed (180 days): an
/// archive page of an older issue processes its images again, once.
pub const UNUSED_FOR: Duration = Duration::from_secs(180 * 24 * 3600);

/// At most this many files of the cache folder are looked at per pruning.
const PRUNE_AT_MOST: usize = 100_000;

/// One local image as a message carries it.
#[derive(Debug, Clone)]
pub struct Processed {
    /// The path as written in the section, relative to the issue folder.
    pub src: String,
    /// The processed bytes.
    pub bytes: Vec<u8>,
    /// Their MIME type.
    pub content_type: &'static str,
    /// Size in pixels.
    pub width: u32,
    /// Size in pixels.
    pub height: u32,
    /// `<hash of the bytes>.<ext>`: its file name when hosted.
    pub name: String,
    /// Whether it came from the cache rather than being decoded.
    pub from_cache: bool,
    /// An animated GIF, left as it was.
    pub animated: bool,
}

impl Processed {
    /// The size to show it at in a column `column` px wide: never wider
    /// than the column nor than its own pixels, the aspect ratio kept.
    pub fn display_size(&self, column: u32) -> (u32, u32) {
        let width = self.width.min(column).max(1);
        let height = (u64::from(self.height) * u64::from(width) + u64::from(self.width) / 2)
            / u64::from(self.width.max(1));
        (width, height.max(1) as u32)
    }

    /// `img/<hash>.<ext>`: where it lives under the issue's archive page.
    pub fn hosted_path(&self) -> String {
        format!("img/{}", self.name)
    }
}

/// Whether `path` has the shape of [`Processed::hosted_path`]:
/// `img/<20 hex digits>.<jpg|png|gif>`.
pub fn is_hosted_path(path: &str) -> bool {
    let Some((hash, ext)) = path.strip_prefix("img/").and_then(|n| n.split_once('.')) else {
        return false;
    };
    hash.len() == 20
        && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && matches!(ext, "jpg" | "png" | "gif")
}

/// The cache folder: `<state_dir>/images`.
pub fn cache_dir(config: &Config) -> PathBuf {
    config.state_dir().join("images")
}

/// Each of `images`, processed for a column whose images may be
/// `max_width` px wide, from the cache when it holds them. An image that
/// cannot be decoded is an error at the line of the section that shows it.
pub fn prepare(config: &Config, images: &[LocalImage], max_width: u32) -> Result<Vec<Processed>> {
    let dir = cache_dir(config);
    images
        .iter()
        .map(|image| prepare_one(&dir, image, max_width))
        .collect()
}

/// One image, processed or from the cache in `dir`.
pub fn prepare_one(dir: &Path, image: &LocalImage, max_width: u32) -> Result<Processed> {
    let cached = dir.join(cache_key(&image.bytes, max_width));
    let (bytes, from_cache) = match read_cached(&cached) {
        Some(bytes) => {
            mark_used(&cached);
            (bytes, true)
        }
        None => {
            let bytes = process(&image.bytes, max_width).map_err(|e| undecodable(image, &e))?;
            // A cache that cannot be written costs time, not the result.
            match crate::fs::replace_creating(&cached, &bytes) {
                Ok(()) => prune(dir, SystemTime::now()),
                Err(e) => eprintln!("warning: the processed image is not cached: {e:#}"),
            }
            (bytes, false)
        }
    };
    let (content_type, width, height) = match describe(&bytes) {
        Some(found) => found,
        None => return Err(undecodable(image, &anyhow::anyhow!("unknown format"))),
    };
    let animated = content_type == "image/gif";
    Ok(Processed {
        src: image.src.clone(),
        name: format!(
            "{}.{}",
            hex(&Sha256::digest(&bytes)[..10]),
            extension(content_type)
        ),
        bytes,
        content_type,
        width,
        height,
        from_cache,
        animated,
    })
}

fn undecodable(image: &LocalImage, e: &anyhow::Error) -> anyhow::Error {
    Located::line(
        &image.path,
        image.line,
        format!("the image `{}` cannot be decoded: {e:#}", image.src),
    )
    .help("open it in an image editor and export it again as JPEG or PNG")
    .into()
}

/// The cached file's bytes, when it is there and is an image.
fn read_cached(path: &Path) -> Option<Vec<u8>> {
    let bytes =
        crate::error::read_within(path, crate::error::IMAGE_LIMIT, "remove the cache").ok()?;
    crate::issue::sniff_image(&bytes).map(|_| bytes)
}

/// Marks a cached result as used now (its modification time), so pruning
/// keeps it; a cache that cannot be touched is only pruned sooner.
fn mark_used(path: &Path) {
    if let Ok(file) = std::fs::File::options().append(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// Removes the cached results of `dir` unused since `now - UNUSED_FOR`;
/// files that are not cached results are left alone.
fn prune(dir: &Path, now: SystemTime) {
    let Some(before) = now.checked_sub(UNUSED_FOR) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten().take(PRUNE_AT_MOST) {
        let name = entry.file_name();
        let is_result = name
            .to_str()
            .is_some_and(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()));
        let Ok(meta) = entry.metadata() else { continue };
        let unused = meta.modified().is_ok_and(|at| at < before);
        if is_result && meta.is_file() && unused {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The type and size an encoded image shows in its header.
fn describe(bytes: &[u8]) -> Option<(&'static str, u32, u32)> {
    let content_type = crate::issue::sniff_image(bytes)?;
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()?;
    let (width, height) = reader.into_dimensions().ok()?;
    Some((content_type, width, height))
}

/// The name of the cached result of `bytes` processed for `max_width`.
fn cache_key(bytes: &[u8], max_width: u32) -> String {
    let mut hash = Sha256::new();
    hash.update(PIPELINE.as_bytes());
    hash.update(format!("\0{max_width}\0{JPEG_QUALITY}\0").as_bytes());
    hash.update(bytes);
    hex(&hash.finalize()[..16])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The file extension of an image type.
pub fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        _ => "jpg",
    }
}

/// How many of `images` were decoded and how many came from the cache.
pub fn counts(images: &[Processed]) -> (usize, usize) {
    let cached = images.iter().filter(|p| p.from_cache).count();
    (images.len() - cached, cached)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn processed(width: u32, height: u32) -> Processed {
        Processed {
            src: "a.jpg".into(),
            bytes: Vec::new(),
            content_type: "image/jpeg",
            width,
            height,
            name: "x.jpg".into(),
            from_cache: false,
            animated: false,
        }
    }

    #[test]
    fn an_image_is_shown_no_wider_than_the_column_nor_its_pixels() {
        assert_eq!(processed(1200, 900).display_size(552), (552, 414));
        assert_eq!(processed(300, 200).display_size(552), (300, 200));
        assert_eq!(processed(1200, 1).display_size(552), (552, 1));
    }

    #[test]
    fn a_hosted_path_is_a_hash_and_an_image_extension() {
        assert!(is_hosted_path("img/0123456789abcdef0123.jpg"));
        assert!(!is_hosted_path("img/0123456789abcdef0123.jpg/x"));
        assert!(!is_hosted_path("img/../issue.toml"));
        assert!(!is_hosted_path("img/photo.jpg"));
        assert!(!is_hosted_path("0123456789abcdef0123.png"));
    }

    fn png(width: u32) -> LocalImage {
        let mut bytes = Vec::new();
        image::RgbImage::new(width, 4)
            .write_to(
                &mut std::io::Cursor::new(&mut bytes),
                image::ImageFormat::Png,
            )
            .unwrap();
        LocalImage {
            src: "a.png".into(),
            bytes,
            content_type: "image/png",
            path: PathBuf::from("issues/x/01.md"),
            line: 3,
        }
    }

    fn age(path: &Path, days: u64) {
        let at = SystemTime::now() - Duration::from_secs(days * 24 * 3600);
        std::fs::File::options()
            .append(true)
            .open(path)
            .unwrap()
            .set_modified(at)
            .unwrap();
    }

    #[test]
    fn results_unused_for_half_a_year_are_removed_when_a_new_one_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let (old, used) = (png(5), png(6));
        prepare_one(dir.path(), &old, 1200).unwrap();
        prepare_one(dir.path(), &used, 1200).unwrap();
        let old_file = dir.path().join(cache_key(&old.bytes, 1200));
        let used_file = dir.path().join(cache_key(&used.bytes, 1200));
        let notes = dir.path().join("notes.txt");
        std::fs::write(&notes, "mine").unwrap();
        for file in [&old_file, &used_file, &notes] {
            age(file, 200);
        }
        // A hit marks its result used; writing a new one prunes the rest.
        assert!(prepare_one(dir.path(), &used, 1200).unwrap().from_cache);
        assert!(!prepare_one(dir.path(), &png(7), 1200).unwrap().from_cache);
        assert!(!old_file.exists(), "a result unused for 200 days was kept");
        assert!(used_file.exists() && notes.exists());
        assert!(!prepare_one(dir.path(), &old, 1200).unwrap().from_cache);
    }

    #[test]
    fn the_cache_key_changes_with_the_bytes_and_the_width() {
        assert_ne!(cache_key(b"a", 1200), cache_key(b"b", 1200));
        assert_ne!(cache_key(b"a", 1200), cache_key(b"a", 1120));
        assert_eq!(cache_key(b"a", 1200), cache_key(b"a", 1200));
    }
}

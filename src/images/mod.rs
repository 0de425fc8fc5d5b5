//! The images a message carries: each local image of an issue resized to
//! at most twice the column's width, re-encoded (JPEG at quality 82, PNG
//! losslessly with the best compression) from its decoded pixels, so that
//! no EXIF, GPS, XMP or comment of the camera's file reaches a reader, its
//! EXIF orientation applied to the pixels first. Animated GIFs are left as
//! they are.
//!
//! Results are kept in `<state_dir>/images/`, named by a hash of the
//! original's bytes and the settings, so that a second build decodes
//! nothing.

mod encode;
mod metadata;

use std::path::{Path, PathBuf};

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
        Some(bytes) => (bytes, true),
        None => {
            let bytes = process(&image.bytes, max_width).map_err(|e| undecodable(image, &e))?;
            // A cache that cannot be written costs time, not the result.
            if let Err(e) = crate::fs::replace_creating(&cached, &bytes) {
                eprintln!("warning: the processed image is not cached: {e:#}");
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

    #[test]
    fn the_cache_key_changes_with_the_bytes_and_the_width() {
        assert_ne!(cache_key(b"a", 1200), cache_key(b"b", 1200));
        assert_ne!(cache_key(b"a", 1200), cache_key(b"a", 1120));
        assert_eq!(cache_key(b"a", 1200), cache_key(b"a", 1200));
    }
}

//! The pipeline itself: decode, orient, resize, re-encode. Only the
//! decoded pixels reach the encoder; no metadata is handed to it.

use std::io::Cursor;

use anyhow::{bail, Context, Result};
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageFormat, ImageReader, Limits};

use super::metadata::carries_metadata;
use super::JPEG_QUALITY;

/// The largest image letterpress decodes, per side.
const MAX_SIDE: u32 = 16_384;
/// The most memory one decode may take.
const MAX_ALLOC: u64 = 512 * 1024 * 1024;

/// `bytes` (PNG, JPEG, GIF or WebP) as a message should carry them: at most
/// `max_width` px wide, oriented, re-encoded without metadata. An animated
/// GIF comes back unchanged; a still GIF or a WebP comes back as PNG (or
/// JPEG, for an opaque WebP). The original bytes come back only when they
/// are already the smallest, need no change and carry no metadata.
pub fn process(bytes: &[u8], max_width: u32) -> Result<Vec<u8>> {
    let format = image::guess_format(bytes).context("not an image")?;
    if !matches!(
        format,
        ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP
    ) {
        bail!("not PNG, JPEG, GIF or WebP");
    }
    if format == ImageFormat::Gif && animated(bytes)? {
        return Ok(bytes.to_vec());
    }
    let (image, orientation) = decode(bytes, format)?;
    let mut image = image;
    image.apply_orientation(orientation);
    let resized = image.width() > max_width.max(1);
    if resized {
        image = image.resize(max_width.max(1), MAX_SIDE, FilterType::CatmullRom);
    }
    let (out, out_format) = match format {
        ImageFormat::Jpeg => (jpeg(&image)?, ImageFormat::Jpeg),
        ImageFormat::WebP if !image.color().has_alpha() => (jpeg(&image)?, ImageFormat::Jpeg),
        _ => (png(&image)?, ImageFormat::Png),
    };
    let unchanged = !resized && orientation == Orientation::NoTransforms && out_format == format;
    if unchanged && bytes.len() <= out.len() && !carries_metadata(bytes) {
        return Ok(bytes.to_vec());
    }
    Ok(out)
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

/// The pixels and the orientation the file's EXIF asks for.
fn decode(bytes: &[u8], format: ImageFormat) -> Result<(DynamicImage, Orientation)> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits());
    let mut decoder = reader.into_decoder()?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    Ok((DynamicImage::from_decoder(decoder)?, orientation))
}

/// Whether a GIF has more than one frame.
fn animated(bytes: &[u8]) -> Result<bool> {
    use image::AnimationDecoder;
    let mut decoder = image::codecs::gif::GifDecoder::new(Cursor::new(bytes))?;
    decoder.set_limits(limits())?;
    let mut frames = decoder.into_frames();
    let mut count = 0;
    for frame in frames.by_ref().take(2) {
        frame?;
        count += 1;
    }
    Ok(count > 1)
}

fn jpeg(image: &DynamicImage) -> Result<Vec<u8>> {
    let rgb = image.to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(&rgb)?;
    Ok(out)
}

fn png(image: &DynamicImage) -> Result<Vec<u8>> {
    // 16-bit channels become 8: a newsletter image shows no difference.
    // Grey stays grey (a third of the bytes of RGB).
    let color = image.color();
    let image = match (color.has_color(), color.has_alpha()) {
        (false, false) => DynamicImage::ImageLuma8(image.to_luma8()),
        (false, true) => DynamicImage::ImageLumaA8(image.to_luma_alpha8()),
        (true, false) => DynamicImage::ImageRgb8(image.to_rgb8()),
        (true, true) => DynamicImage::ImageRgba8(image.to_rgba8()),
    };
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Best, PngFilter::Adaptive)
        .write_image(
            image.as_bytes(),
            image.width(),
            image.height(),
            image.color().into(),
        )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_wide_photo_comes_back_at_the_width_with_its_aspect() {
        let photo = DynamicImage::ImageRgb8(image::RgbImage::from_fn(2000, 1000, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        }));
        let out = process(&encoded(&photo, ImageFormat::Jpeg), 1200).unwrap();
        let back = image::load_from_memory(&out).unwrap();
        assert_eq!((back.width(), back.height()), (1200, 600));
        assert_eq!(image::guess_format(&out).unwrap(), ImageFormat::Jpeg);
    }

    #[test]
    fn a_small_clean_png_keeps_its_bytes_when_they_are_smaller() {
        let small =
            DynamicImage::ImageRgb8(image::RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3])));
        let mut best = Vec::new();
        PngEncoder::new_with_quality(&mut best, CompressionType::Best, PngFilter::Adaptive)
            .write_image(small.as_bytes(), 8, 8, small.color().into())
            .unwrap();
        assert_eq!(process(&best, 1200).unwrap(), best);
    }

    #[test]
    fn a_png_with_a_text_chunk_is_re_encoded_even_when_not_smaller() {
        let small =
            DynamicImage::ImageRgb8(image::RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3])));
        let mut best = Vec::new();
        PngEncoder::new_with_quality(&mut best, CompressionType::Best, PngFilter::Adaptive)
            .write_image(small.as_bytes(), 8, 8, small.color().into())
            .unwrap();
        // A tEXt chunk before IEND (its CRC is not checked by the decoder's
        // default settings, so a zero one will do for this test).
        let iend = best.len() - 12;
        let mut with_text = best[..iend].to_vec();
        let text = b"Comment\0secret place";
        with_text.extend_from_slice(&(text.len() as u32).to_be_bytes());
        with_text.extend_from_slice(b"tEXt");
        with_text.extend_from_slice(text);
        with_text.extend_from_slice(&crc(b"tEXt", text).to_be_bytes());
        with_text.extend_from_slice(&best[iend..]);
        let out = process(&with_text, 1200).unwrap();
        assert!(!out.windows(4).any(|w| w == b"tEXt"));
        assert!(!out.windows(6).any(|w| w == b"secret"));
    }

    fn crc(kind: &[u8], data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in kind.iter().chain(data) {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn grey_stays_grey_and_an_opaque_webp_becomes_a_jpeg() {
        let grey = DynamicImage::ImageLuma8(image::GrayImage::from_fn(1600, 100, |x, _| {
            image::Luma([(x % 256) as u8])
        }));
        let out = process(&encoded(&grey, ImageFormat::Png), 1200).unwrap();
        let back = image::load_from_memory(&out).unwrap();
        assert_eq!(back.color(), image::ColorType::L8);
        assert_eq!(back.width(), 1200);

        let photo = DynamicImage::ImageRgb8(image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([x as u8 * 4, y as u8 * 5, 60])
        }));
        let out = process(&encoded(&photo, ImageFormat::WebP), 1200).unwrap();
        assert_eq!(image::guess_format(&out).unwrap(), ImageFormat::Jpeg);
        let back = image::load_from_memory(&out).unwrap();
        assert_eq!((back.width(), back.height()), (64, 48));
    }

    #[test]
    fn an_animated_gif_is_left_alone_and_a_broken_file_is_an_error() {
        use image::codecs::gif::GifEncoder;
        use image::{Delay, Frame, RgbaImage};
        let mut gif = Vec::new();
        {
            let mut encoder = GifEncoder::new(&mut gif);
            for shade in [0u8, 255] {
                let frame = RgbaImage::from_pixel(4, 4, image::Rgba([shade, 0, 0, 255]));
                encoder
                    .encode_frame(Frame::from_parts(
                        frame,
                        0,
                        0,
                        Delay::from_numer_denom_ms(100, 1),
                    ))
                    .unwrap();
            }
        }
        assert_eq!(process(&gif, 1200).unwrap(), gif);
        assert!(process(b"\xff\xd8\xff\xe0 not really a jpeg", 1200).is_err());
    }
}

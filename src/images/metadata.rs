//! Whether an image file carries metadata beyond what draws it: read by
//! walking its segments (JPEG) or chunks (PNG), never by decoding.

/// PNG chunks that only say how to draw the pixels.
const PNG_DRAWING: [&[u8; 4]; 12] = [
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT",
    b"pHYs", b"bKGD",
];

/// Whether `bytes` hold anything but the picture: EXIF, XMP, IPTC,
/// comments, text chunks, times. A file this walk cannot follow counts as
/// carrying some.
pub fn carries_metadata(bytes: &[u8]) -> bool {
    if let Some(chunks) = bytes.strip_prefix(b"\x89PNG\r\n\x1a\n") {
        png_metadata(chunks)
    } else if let Some(segments) = bytes.strip_prefix(&[0xff, 0xd8]) {
        jpeg_metadata(segments)
    } else {
        true
    }
}

fn png_metadata(mut rest: &[u8]) -> bool {
    while rest.len() >= 12 {
        let length = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = &rest[4..8];
        if !PNG_DRAWING.iter().any(|k| k.as_slice() == kind) {
            return true;
        }
        if kind == b"IEND" {
            return false;
        }
        let Some(next) = length.checked_add(12).and_then(|n| rest.get(n..)) else {
            return true;
        };
        rest = next;
    }
    true
}

/// The segments before the image data: only JFIF (APP0), an ICC profile
/// (APP2) and Adobe's colour transform (APP14) draw the picture.
fn jpeg_metadata(mut rest: &[u8]) -> bool {
    loop {
        let Some(at) = rest.iter().position(|b| *b != 0xff) else {
            return true;
        };
        if at == 0 {
            return true;
        }
        let marker = rest[at];
        rest = &rest[at + 1..];
        match marker {
            // Start of scan: the header is over.
            0xda => return false,
            0xd0..=0xd7 | 0x01 => continue,
            _ => {}
        }
        if rest.len() < 2 {
            return true;
        }
        let length = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let Some(body) = rest.get(2..length.max(2)) else {
            return true;
        };
        let drawing = match marker {
            0xe0 => body.starts_with(b"JFIF\0") || body.starts_with(b"JFXX\0"),
            0xe2 => body.starts_with(b"ICC_PROFILE\0"),
            0xee => body.starts_with(b"Adobe"),
            0xe1 | 0xe3..=0xed | 0xef | 0xfe => false,
            _ => true,
        };
        if !drawing {
            return true;
        }
        rest = &rest[length.max(2)..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exif_and_comments_count_jfif_does_not() {
        let jfif = b"\xff\xd8\xff\xe0\x00\x07JFIF\0\xff\xda\x00\x02";
        assert!(!carries_metadata(jfif));
        let exif = b"\xff\xd8\xff\xe1\x00\x08Exif\0\0\xff\xda\x00\x02";
        assert!(carries_metadata(exif));
        let comment = b"\xff\xd8\xff\xfe\x00\x04hi\xff\xda\x00\x02";
        assert!(carries_metadata(comment));
        assert!(carries_metadata(b"\xff\xd8\xff\xe0\x00"));
        assert!(carries_metadata(b"GIF89a"));
    }

    #[test]
    fn text_chunks_count_drawing_chunks_do_not() {
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut out = (data.len() as u32).to_be_bytes().to_vec();
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            out.extend_from_slice(&[0; 4]);
            out
        };
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(chunk(b"IHDR", &[0; 13]));
        png.extend(chunk(b"IDAT", &[0; 5]));
        let mut clean = png.clone();
        clean.extend(chunk(b"IEND", &[]));
        assert!(!carries_metadata(&clean));
        png.extend(chunk(b"tEXt", b"GPS\0somewhere"));
        png.extend(chunk(b"IEND", &[]));
        assert!(carries_metadata(&png));
    }
}

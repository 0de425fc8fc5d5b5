//! The images a reader's message carries: resized to the column, without
//! the camera's EXIF and GPS (read back by exiftool and Python PIL, not by
//! letterpress), oriented, sized on the page, cached; or hosted under the
//! archive and left out of the message.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageFormat};
use mail_parser::{MessageParser, MimeHeaders};

use crate::support::{require, Project, Served};

const SECRET: &str = "images-test-secret";
const EXIFTOOL: &str = "/usr/bin/exiftool";
const PYTHON: &str = "/usr/bin/python3";

/// A 4,000 × 3,000 camera JPEG whose EXIF (APP1) holds Orientation = 6
/// (turn 90° clockwise to show it) and a GPS position, 37°33'N.
fn camera_jpeg() -> Vec<u8> {
    let photo = DynamicImage::ImageRgb8(image::RgbImage::from_fn(4000, 3000, |x, y| {
        image::Rgb([(x / 16) as u8, (y / 12) as u8, ((x + y) / 28) as u8])
    }));
    let mut jpeg = Cursor::new(Vec::new());
    photo.write_to(&mut jpeg, ImageFormat::Jpeg).unwrap();
    let jpeg = jpeg.into_inner();
    // TIFF, big-endian: IFD0 at 8 (Orientation, GPS pointer), the GPS IFD
    // at 38 (latitude ref and latitude), its three rationals at 68.
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    let entry = |tiff: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        tiff.extend_from_slice(&tag.to_be_bytes());
        tiff.extend_from_slice(&kind.to_be_bytes());
        tiff.extend_from_slice(&count.to_be_bytes());
        tiff.extend_from_slice(&value);
    };
    tiff.extend_from_slice(&2u16.to_be_bytes());
    entry(&mut tiff, 0x0112, 3, 1, [0, 6, 0, 0]);
    entry(&mut tiff, 0x8825, 4, 1, 38u32.to_be_bytes());
    tiff.extend_from_slice(&0u32.to_be_bytes());
    tiff.extend_from_slice(&2u16.to_be_bytes());
    entry(&mut tiff, 0x0001, 2, 2, *b"N\0\0\0");
    entry(&mut tiff, 0x0002, 5, 3, 68u32.to_be_bytes());
    tiff.extend_from_slice(&0u32.to_be_bytes());
    for (n, d) in [(37u32, 1u32), (33, 1), (0, 1)] {
        tiff.extend_from_slice(&n.to_be_bytes());
        tiff.extend_from_slice(&d.to_be_bytes());
    }
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xff, 0xe1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A 2,400 × 800 PNG chart.
fn wide_png() -> Vec<u8> {
    let chart = DynamicImage::ImageRgb8(image::RgbImage::from_fn(2400, 800, |x, y| {
        match (x / 300 + y / 200) % 2 {
            0 => image::Rgb([250, 250, 250]),
            _ => image::Rgb([30, 90, 200]),
        }
    }));
    let mut png = Cursor::new(Vec::new());
    chart.write_to(&mut png, ImageFormat::Png).unwrap();
    png.into_inner()
}

/// The example issue showing the photo and the chart.
fn project_with_images() -> Project {
    let project = Project::example();
    project.write("issues/example/img/photo.jpg", camera_jpeg());
    project.write("issues/example/img/chart.png", wide_png());
    project.edit(
        "issues/example/05-olympus.md",
        "`Olympus`가",
        "![바다 사진](img/photo.jpg)\n\n![비교 차트](img/chart.png)\n\n`Olympus`가",
    );
    project
}

fn dry_run(project: &Project) -> String {
    let out = project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", "issues/example", "--dry-run", "--out", "outbox"])
        .assert()
        .success();
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

fn build(project: &Project) -> String {
    let out = project
        .cmd()
        .args(["build", "issues/example", "--out", "out"])
        .assert()
        .success();
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

/// The image parts of a message: content type and bytes.
fn image_parts(eml: &[u8]) -> Vec<(String, Vec<u8>)> {
    let message = MessageParser::default().parse(eml).unwrap();
    message
        .parts
        .iter()
        .filter(|p| p.content_type().is_some_and(|c| c.ctype() == "image"))
        .map(|p| {
            let kind = p.content_type().unwrap();
            let kind = format!("image/{}", kind.subtype().unwrap_or(""));
            (kind, p.contents().to_vec())
        })
        .collect()
}

/// The `<img …>` tag whose src starts with `src`.
fn img_tag<'a>(html: &'a str, src: &str) -> &'a str {
    let at = html
        .find(&format!("src=\"{src}"))
        .unwrap_or_else(|| panic!("no image {src}"));
    let start = html[..at].rfind("<img").unwrap();
    let end = at + html[at..].find('>').unwrap();
    &html[start..=end]
}

/// What exiftool reads in `file`: every tag, with its group.
fn exiftool(file: &Path) -> String {
    let out = std::process::Command::new(EXIFTOOL)
        .args(["-a", "-G1", "-s"])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What PIL reads in `file`: "WIDTHxHEIGHT exif-tags info-keys".
fn pil(file: &Path) -> String {
    let script = "import sys\nfrom PIL import Image\nim = Image.open(sys.argv[1])\nprint(f\"{im.size[0]}x{im.size[1]} exif={len(im.getexif())} info={sorted(k for k in im.info if k in ('exif','xmp','comment','XML:com.adobe.xmp'))}\")";
    let out = std::process::Command::new(PYTHON)
        .args(["-c", script])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_camera_photo_and_a_wide_chart_reach_the_reader_small_upright_and_without_exif() {
    let tools = require(EXIFTOOL, "reads the EXIF and GPS left in the images sent")
        & require(PYTHON, "reads the images sent with PIL (python3-pil)");
    let project = project_with_images();

    let first = build(&project);
    assert!(
        first.contains("images: 2 attached as cid: parts (2 processed, 0 from cache)"),
        "{first}"
    );
    assert!(first.contains("message per reader: "), "{first}");
    let second = build(&project);
    assert!(
        second.contains("(0 processed, 2 from cache)"),
        "the second build decoded again: {second}"
    );

    let said = dry_run(&project);
    assert!(said.contains("attached as cid: parts"), "{said}");
    let eml = std::fs::read(project.path("outbox/reader@example.com.eml")).unwrap();
    let parts = image_parts(&eml);
    assert_eq!(parts.len(), 2);
    let message = MessageParser::default().parse(&eml).unwrap();
    let html = message.body_html(0).unwrap();
    // The column is 552 px: the photo shows at 552 × 736 (upright 3:4),
    // the chart at 552 × 184.
    let photo_tag = img_tag(&html, "cid:img1.");
    assert!(
        photo_tag.contains("width=\"552\"") && photo_tag.contains("height=\"736\""),
        "{photo_tag}"
    );
    let chart_tag = img_tag(&html, "cid:img2.");
    assert!(
        chart_tag.contains("width=\"552\"") && chart_tag.contains("height=\"184\""),
        "{chart_tag}"
    );

    let (photo, chart) = (&parts[0], &parts[1]);
    assert_eq!(photo.0, "image/jpeg");
    assert_eq!(chart.0, "image/png");
    assert!(!photo.1.windows(5).any(|w| w == b"Exif\0"));
    if !tools {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original.jpg");
    std::fs::write(&original, camera_jpeg()).unwrap();
    // The independent readers see the GPS position in what the editor gave…
    assert!(exiftool(&original).contains("GPSLatitude"));
    assert_eq!(pil(&original), "4000x3000 exif=2 info=['exif']");
    // …and none of it in what the reader gets: 1,200 px wide at most, the
    // photo turned upright.
    for (name, (_, bytes), size) in [
        ("photo.jpg", photo, "1200x1600"),
        ("chart.png", chart, "1200x400"),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, bytes).unwrap();
        let tags = exiftool(&file);
        for group in [
            "[GPS]",
            "[IFD0]",
            "[ExifIFD]",
            "[XMP",
            "Comment",
            "Orientation",
        ] {
            assert!(
                !tags.contains(group),
                "{name} still carries {group}:\n{tags}"
            );
        }
        assert_eq!(pil(&file), format!("{size} exif=0 info=[]"), "{name}");
    }
}

/// Status, Content-Type and body of `path` from `served`.
fn fetch(served: &Served, path: &str) -> (u16, String, Vec<u8>) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut r = agent.get(&format!("{}{path}", served.base)).call().unwrap();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut r.body_mut().as_reader(), &mut bytes).unwrap();
    (r.status().as_u16(), kind, bytes)
}

#[test]
fn hosted_images_leave_the_message_and_are_served_and_archived_as_linked() {
    let project = project_with_images();
    let config = project.read("config/newsletter.toml");
    project.write(
        "config/newsletter.toml",
        format!("{config}\n[images]\nhost = true\n"),
    );
    let said = dry_run(&project);
    assert!(
        said.contains("hosted under <base_url>/archive/<issue>/img/"),
        "{said}"
    );
    assert!(said.contains("message per reader: "), "{said}");
    let eml = std::fs::read(project.path("outbox/reader@example.com.eml")).unwrap();
    assert!(image_parts(&eml).is_empty(), "a hosted image was attached");
    let message = MessageParser::default().parse(&eml).unwrap();
    let html = message.body_html(0).unwrap().into_owned();
    let prefix = "https://news.example.com/archive/example/img/";
    let files: Vec<String> = html
        .split(&format!("src=\"{prefix}"))
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect();
    assert_eq!(files.len(), 2, "{html}");
    assert!(
        files[0].ends_with(".jpg") && files[1].ends_with(".png"),
        "{files:?}"
    );
    assert!(img_tag(&html, prefix).contains("height=\"736\""));

    // Before the send (a test send's message links them too) serve answers
    // the hashed names only: not the page, not the paths the page uses.
    {
        let served = Served::start(&project, SECRET, &[]);
        let get = |path: &str| fetch(&served, path);
        for (file, kind) in files.iter().zip(["image/jpeg", "image/png"]) {
            let (status, served_kind, _) = get(&format!("/archive/example/img/{file}"));
            assert_eq!((status, served_kind.as_str()), (200, kind), "{file}");
        }
        for path in [
            "/archive/example/",
            "/archive/example/img/photo.jpg",
            "/archive/example/img/00000000000000000000.jpg",
            "/archive/no-such-issue/img/00000000000000000000.jpg",
        ] {
            assert_eq!(get(path).0, 404, "{path} served before the send");
        }
        let other = format!("/archive/welcome/img/{}", files[0]);
        assert_eq!(get(&other).0, 404, "an image served under another issue");
    }

    // Once sent, serve answers every linked URL, and `archive --out`
    // writes the same files at the same paths.
    project.write(
        "state/example.journal",
        "2026-11-27T09:00:01Z accepted reader@example.com attempts=1 reply=\"250 ok\"\n",
    );
    project
        .cmd()
        .args(["archive", "--out", "site"])
        .assert()
        .success();
    let served = Served::start(&project, SECRET, &[]);
    let get = |path: &str| fetch(&served, path);
    for (file, kind) in files.iter().zip(["image/jpeg", "image/png"]) {
        let (status, served_kind, bytes) = get(&format!("/archive/example/img/{file}"));
        assert_eq!((status, served_kind.as_str()), (200, kind), "{file}");
        let written = std::fs::read(project.path(&format!("site/example/img/{file}"))).unwrap();
        assert_eq!(bytes, written, "{file}");
        let back = image::load_from_memory(&bytes).unwrap();
        assert!(back.width() <= 1200);
    }
    for path in [
        "img/00000000000000000000.jpg",
        "img/../issue.toml",
        "img/%2E%2E/%2E%2E/config/newsletter.toml",
        "img/",
    ] {
        assert_eq!(get(&format!("/archive/example/{path}")).0, 404, "{path}");
    }
}

#[test]
fn an_image_that_cannot_be_decoded_is_an_error_at_the_line_that_shows_it() {
    let project = project_with_images();
    project.write(
        "issues/example/img/photo.jpg",
        b"\xff\xd8\xff\xe0 a torn download",
    );
    let out = project
        .cmd()
        .args(["check", "issues/example"])
        .assert()
        .failure();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let md = project.read("issues/example/05-olympus.md");
    let line = md
        .lines()
        .position(|l| l.contains("img/photo.jpg"))
        .unwrap()
        + 1;
    assert!(
        stdout.contains(&format!("05-olympus.md:{line}")) && stdout.contains("cannot be decoded"),
        "{stdout}"
    );
}

#[test]
fn hosting_without_base_url_is_refused_at_its_line() {
    let project = Project::example();
    let config = project.read("config/newsletter.toml");
    let without_base: String = config
        .lines()
        .filter(|l| !l.starts_with("base_url"))
        .map(|l| format!("{l}\n"))
        .collect();
    project.write(
        "config/newsletter.toml",
        format!("{without_base}\n[images]\nhost = true\n"),
    );
    let line = without_base.lines().count() + 3;
    let out = project
        .cmd()
        .args(["build", "issues/example", "--out", "out"])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains(&format!("newsletter.toml:{line}:"))
            && stderr.contains("host = true needs [newsletter] base_url"),
        "{stderr}"
    );
}

#[test]
fn check_warns_about_an_image_over_the_budget_after_processing_at_its_line() {
    let project = project_with_images();
    let check = |project: &Project| {
        let out = project
            .cmd()
            .args(["check", "issues/example"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let within = check(&project);
    assert!(!within.contains("max_kb"), "{within}");
    let config = project.read("config/newsletter.toml");
    project.write(
        "config/newsletter.toml",
        format!("{config}\n[images]\nmax_kb = 1\n"),
    );
    let over = check(&project);
    let md = project.read("issues/example/05-olympus.md");
    for src in ["img/photo.jpg", "img/chart.png"] {
        let line = md.lines().position(|l| l.contains(src)).unwrap() + 1;
        let finding = over
            .lines()
            .find(|l| l.contains(&format!("05-olympus.md:{line}: warning: the image `{src}`")))
            .unwrap_or_else(|| panic!("no warning about {src}:\n{over}"));
        assert!(
            finding.contains("after resizing and recompressing, over [images] max_kb = 1"),
            "{finding}"
        );
    }
}

#[test]
fn the_web_archive_publishes_the_processed_copy_never_the_camera_file() {
    let project = project_with_images();
    project.write(
        "state/example.journal",
        "2026-11-27T09:00:01Z accepted reader@example.com attempts=1 reply=\"250 ok\"\n",
    );
    project
        .cmd()
        .args(["archive", "--out", "site"])
        .assert()
        .success();
    let served = Served::start(&project, SECRET, &[]);
    // At the path the web version names it by.
    let (status, kind, served_photo) = fetch(&served, "/archive/example/img/photo.jpg");
    assert_eq!((status, kind.as_str()), (200, "image/jpeg"));
    let written = std::fs::read(project.path("site/example/img/photo.jpg")).unwrap();
    assert_eq!(served_photo, written);
    assert!(!written.windows(5).any(|w| w == b"Exif\0"));
    let back = image::load_from_memory(&written).unwrap();
    assert_eq!((back.width(), back.height()), (1200, 1600));
    let (status, kind, chart) = fetch(&served, "/archive/example/img/chart.png");
    assert_eq!((status, kind.as_str()), (200, "image/png"));
    assert_eq!(image::load_from_memory(&chart).unwrap().width(), 1200);
}

#[test]
fn an_animated_gif_goes_as_it_is_and_check_warns_when_it_is_over_the_budget() {
    use image::codecs::gif::GifEncoder;
    use image::{Delay, Frame, RgbaImage};
    let mut gif = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut gif);
        for frame in 0..4u32 {
            let pixels = RgbaImage::from_fn(300, 200, |x, y| {
                let v = ((x * 7 + y * 13 + frame * 31) ^ (x * y)) as u8;
                image::Rgba([v, v.wrapping_mul(3), 255 - v, 255])
            });
            let delay = Delay::from_numer_denom_ms(200, 1);
            encoder
                .encode_frame(Frame::from_parts(pixels, 0, 0, delay))
                .unwrap();
        }
    }
    assert!(gif.len() > 2_000, "{}", gif.len());
    let project = Project::example();
    project.write("issues/example/img/moving.gif", &gif);
    project.edit(
        "issues/example/05-olympus.md",
        "`Olympus`가",
        "![움직이는 그림](img/moving.gif)\n\n`Olympus`가",
    );
    let config = project.read("config/newsletter.toml");
    project.write(
        "config/newsletter.toml",
        format!("{config}\n[images]\nmax_kb = 1\n"),
    );
    let out = project
        .cmd()
        .args(["check", "issues/example"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        stdout.contains("warning: the image `img/moving.gif`")
            && stdout.contains("an animated GIF, sent as it is,"),
        "{stdout}"
    );
    dry_run(&project);
    let eml = std::fs::read(project.path("outbox/reader@example.com.eml")).unwrap();
    let parts = image_parts(&eml);
    assert_eq!(parts, vec![("image/gif".to_string(), gif)]);
}

#[test]
fn a_cache_that_cannot_be_written_costs_time_not_the_build() {
    let project = project_with_images();
    // A file where the cache's folder would be.
    project.write("state/images", "not a folder");
    let out = project
        .cmd()
        .args(["build", "issues/example", "--out", "out"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stdout.contains("(2 processed, 0 from cache)"), "{stdout}");
    assert!(
        stderr.contains("warning: the processed image is not cached"),
        "{stderr}"
    );
    let preview = std::fs::read(project.path("out/preview.eml")).unwrap();
    let parts = image_parts(&preview);
    assert_eq!(parts.len(), 2);
    assert!(!parts[0].1.windows(5).any(|w| w == b"Exif\0"));
}

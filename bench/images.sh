#!/usr/bin/env bash
# The bytes a send moves because of its images: the example issue with a
# 4,000 x 3,000 camera JPEG (quality 92, EXIF with a GPS position) and a
# 2,400 x 1,600 PNG chart, made here with Python PIL. Three ways:
#   originals  the camera files attached as they are (letterpress before
#              its image pipeline);
#   attached   the processed images attached as cid: parts (the default);
#   hosted     [images] host = true: no image part, the images linked from
#              <base_url>/archive/<issue>/img/.
# The message sizes are those of the .eml files a dry run writes for the
# example's readers (their mean); the total for a send is that mean times
# READERS (10,000). The originals' size is not run but computed from the
# attached message: its image parts' base64 replaced by the originals'
# base64 (76-column lines, CRLF), as the earlier letterpress encoded them;
# ORIGINALS_BIN=/path/to/an/earlier/letterpress runs that binary instead and
# reports what it wrote (the two agreed within 40 bytes a message).
# Scratch files live in bench/.cache/images/.
set -euo pipefail
# LETTERPRESS_BIN=/path/to/letterpress uses that binary instead of building
# this tree (a debug build is fine: only sizes are measured).

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
work=$bench/.cache/images
letterpress=${LETTERPRESS_BIN:-$root/target/debug/letterpress}
python=${PYTHON:-/usr/bin/python3}
readers=${READERS:-10000}
cfg=config/newsletter.toml
export LETTERPRESS_UNSUBSCRIBE_SECRET=${LETTERPRESS_UNSUBSCRIBE_SECRET:-letterpress-bench-secret}

die() { echo "error: $*" >&2; exit 1; }
"$python" -c 'import PIL' 2>/dev/null || die "Python PIL is needed: apt-get install -y python3-pil (or set PYTHON)"

if [[ -z ${LETTERPRESS_BIN:-} ]]; then
  (cd "$root" && cargo build --locked) || die "building letterpress failed"
fi
[[ -x $letterpress ]] || die "$letterpress is missing after the build"

rm -rf "$work" && mkdir -p "$work/project/issues"
cp -r "$root/config" "$work/project/config"
cp -r "$root/issues/example" "$work/project/issues/example"
"$python" - "$work/project/issues/example" <<'PY'
import os, random, sys
from PIL import Image, ImageDraw, ImageFilter
issue = sys.argv[1]
os.makedirs(os.path.join(issue, "img"), exist_ok=True)
random.seed(7)
# A photo-like picture: a sky-to-sea gradient, soft shapes and sensor noise.
w, h = 4000, 3000
base = Image.linear_gradient("L").resize((w, h))
photo = Image.merge("RGB", (base.point(lambda v: 40 + v // 2), base.point(lambda v: 90 + v // 3), base.point(lambda v: 200 - v // 3)))
draw = ImageDraw.Draw(photo)
for _ in range(300):
    x, y, r = random.randrange(w), random.randrange(h), random.randrange(20, 300)
    draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(random.randrange(256) for _ in range(3)))
photo = photo.filter(ImageFilter.GaussianBlur(6))
noise = Image.effect_noise((w, h), 24).convert("RGB")
photo = Image.blend(photo, noise, 0.12)
exif = Image.Exif()
exif[0x010F] = "Camera Maker"
exif[0x0110] = "Camera 1"
exif[0x0112] = 1
gps = exif.get_ifd(0x8825)
gps[1], gps[2], gps[3], gps[4] = "N", (37.0, 33.0, 59.0), "E", (126.0, 58.0, 41.0)
photo.save(os.path.join(issue, "img", "photo.jpg"), quality=92, exif=exif)
# A chart: flat colours, text-like strokes, as a screenshot is.
chart = Image.new("RGB", (2400, 1600), "white")
draw = ImageDraw.Draw(chart)
for i in range(12):
    x = 150 + i * 180
    top = 1500 - random.randrange(200, 1300)
    draw.rectangle((x, top, x + 120, 1500), fill=(30, 90, 200))
    draw.text((x, 1520), f"item {i}", fill="black")
for y in range(100, 1500, 100):
    draw.line((100, y, 2300, y), fill=(220, 220, 220), width=2)
chart.save(os.path.join(issue, "img", "chart.png"))
md = os.path.join(issue, "05-olympus.md")
text = open(md, encoding="utf-8").read()
text = text.replace("`Olympus`가", "![바다 사진](img/photo.jpg)\n\n![비교 차트](img/chart.png)\n\n`Olympus`가", 1)
open(md, "w", encoding="utf-8").write(text)
PY

cd "$work/project"
run() { # mode [binary]
  "${2:-$letterpress}" --config "$cfg" send issues/example --dry-run --out "$work/out-$1" >"$work/$1.txt" 2>&1 ||
    die "the dry run ($1) failed; see $work/$1.txt"
}
run attached
if [[ -n ${ORIGINALS_BIN:-} ]]; then
  run originals "$ORIGINALS_BIN"
fi
cp "$cfg" "$work/newsletter.toml.orig"
printf '\n[images]\nhost = true\n' >>"$cfg"
run hosted
cp "$work/newsletter.toml.orig" "$cfg"

"$python" - "$work" "$readers" issues/example/img/photo.jpg issues/example/img/chart.png <<'PY'
import email, email.policy, glob, math, os, sys
work, readers, originals = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

def sizes(mode):
    files = sorted(glob.glob(os.path.join(work, f"out-{mode}", "*.eml")))
    if not files:
        sys.exit(f"error: no message in out-{mode}")
    return [os.path.getsize(f) for f in files]

def b64(n):  # base64 in 76-column lines ending in CRLF
    chars = 4 * math.ceil(n / 3)
    return chars + 2 * math.ceil(chars / 76)

attached, hosted = sizes("attached"), sizes("hosted")
# The image parts of one attached message, in order.
first = sorted(glob.glob(os.path.join(work, "out-attached", "*.eml")))[0]
message = email.message_from_binary_file(open(first, "rb"), policy=email.policy.default)
parts = [p.get_content() for p in message.walk() if p.get_content_maintype() == "image"]
assert len(parts) == len(originals), f"{len(parts)} image parts, {len(originals)} originals"
original_bytes = [os.path.getsize(f) for f in originals]
delta = sum(b64(o) - b64(len(p)) for o, p in zip(original_bytes, parts))
mean = lambda xs: sum(xs) / len(xs)
measured = os.path.isdir(os.path.join(work, "out-originals"))
before = mean(sizes("originals")) if measured else mean(attached) + delta
rows = [
    ("originals attached (before)", before),
    ("processed, attached (cid:)", mean(attached)),
    ("hosted ([images] host)", mean(hosted)),
]
print(f"images: {', '.join(f'{os.path.basename(f)} {n:,} B' for f, n in zip(originals, original_bytes))} -> processed {', '.join(f'{len(p):,} B' for p in parts)}")
print(f"messages measured: {len(attached)} readers' dry-run .eml files per mode (mean), times {readers:,} readers")
print(f"{'mode':<30} {'bytes per message':>18} {'total for ' + format(readers, ',') + ' readers':>28}")
for name, size in rows:
    print(f"{name:<30} {size:>18,.0f} {size * readers / 1e9:>24.2f} GB")
if measured:
    print(f"(the originals row was run with ORIGINALS_BIN; computed it would be {mean(attached) + delta:,.0f})")
else:
    print("(the originals row is computed, not run: the attached message with the originals' base64 in place of the processed images')")
PY

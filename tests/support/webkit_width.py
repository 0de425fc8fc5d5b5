#!/usr/bin/python3
"""Loads each HTML file in WebKitGTK (the engine of Apple Mail and iOS
Mail) in a window WIDTH pixels wide and prints one line per file:
PATH<TAB>SCROLL_WIDTH<TAB>VIEWPORT_WIDTH. With --png DIR it also saves a
screenshot of each. Run under xvfb-run with Debian's /usr/bin/python3
(gir1.2-webkit2-4.1, python3-gi).

Usage: webkit_width.py WIDTH [--png DIR] FILE..."""
import os
import sys
import warnings

import gi

warnings.filterwarnings("ignore", category=DeprecationWarning)

gi.require_version("Gtk", "3.0")
gi.require_version("WebKit2", "4.1")
from gi.repository import GLib, Gtk, WebKit2  # noqa: E402

args = sys.argv[1:]
width = int(args.pop(0))
png_dir = None
if args[:1] == ["--png"]:
    args.pop(0)
    png_dir = args.pop(0)
queue = list(args)
current = {}

window = Gtk.OffscreenWindow()
window.set_default_size(width, 900)
view = WebKit2.WebView()
window.add(view)
window.show_all()


def fail(why):
    print(why, file=sys.stderr)
    sys.exit(2)


def saved(view, result, path):
    surface = view.get_snapshot_finish(result)
    name = os.path.splitext(os.path.basename(path))[0]
    surface.write_to_png(os.path.join(png_dir, f"webkit-{width}-{name}.png"))
    next_file()


def measured(view, result, path):
    value = view.run_javascript_finish(result).get_js_value().to_string()
    scroll, inner = value.split()
    print(f"{path}\t{scroll}\t{inner}", flush=True)
    if png_dir:
        view.get_snapshot(
            WebKit2.SnapshotRegion.FULL_DOCUMENT,
            WebKit2.SnapshotOptions.NONE,
            None,
            saved,
            path,
        )
    else:
        next_file()


def loaded(view, event):
    if event != WebKit2.LoadEvent.FINISHED:
        return
    path = current["path"]

    def measure():
        view.run_javascript(
            "document.documentElement.scrollWidth + ' ' + window.innerWidth",
            None,
            measured,
            path,
        )
        return False

    # Let layout settle (fonts) before measuring.
    GLib.timeout_add(200, measure)


def next_file():
    if not queue:
        Gtk.main_quit()
        return False
    path = queue.pop(0)
    current["path"] = path
    view.load_uri("file://" + os.path.abspath(path))
    return False


view.connect("load-changed", loaded)
GLib.idle_add(next_file)
GLib.timeout_add_seconds(120, lambda: fail("timed out"))
Gtk.main()

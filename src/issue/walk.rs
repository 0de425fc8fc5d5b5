//! The one walk over a parsed body: every heading, link and image, in the
//! order they are written, through lists, quotes, tables and emphasis.

use super::markdown::{Block, Body, Inline};

/// What the walk meets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Node<'a> {
    /// A heading inside a body (level 1 to 6), met before its content.
    Heading(u8, &'a [Inline]),
    /// A link, met before its label.
    Link {
        /// Reference.
        url: &'a str,
        /// Label.
        label: &'a [Inline],
    },
    /// An image inside the text.
    Image {
        /// Source URL or local path.
        src: &'a str,
        /// Alternative text.
        alt: &'a str,
    },
}

/// What a URL of the body belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// A link's target.
    Link,
    /// An image's source.
    Image,
}

/// Calls `visit` on every heading, link and image of `blocks`, in order.
pub fn nodes<'a, F: FnMut(Node<'a>)>(blocks: &'a [Block], visit: &mut F) {
    for block in blocks {
        match block {
            Block::Paragraph(i) => inline_nodes(i, visit),
            Block::Heading(level, i) => {
                visit(Node::Heading(*level, i));
                inline_nodes(i, visit);
            }
            Block::List { items, .. } => items.iter().for_each(|b| nodes(b, visit)),
            Block::Quote(b) => nodes(b, visit),
            Block::Table { head, rows, .. } => head
                .iter()
                .chain(rows.iter().flatten())
                .for_each(|c| inline_nodes(c, visit)),
            Block::Code(_) | Block::Rule => {}
        }
    }
}

fn inline_nodes<'a, F: FnMut(Node<'a>)>(inlines: &'a [Inline], visit: &mut F) {
    for inline in inlines {
        match inline {
            Inline::Link { url, children } => {
                visit(Node::Link {
                    url,
                    label: children,
                });
                inline_nodes(children, visit);
            }
            Inline::Image { src, alt } => visit(Node::Image { src, alt }),
            Inline::Emph(c) | Inline::Strong(c) | Inline::Strike(c) => inline_nodes(c, visit),
            Inline::Text(_)
            | Inline::Code(_)
            | Inline::SoftBreak
            | Inline::HardBreak
            | Inline::FootnoteRef(_) => {}
        }
    }
}

/// Calls `visit` on every link target and image source of `blocks`, in
/// the same order as [`nodes`], to change them in place.
pub fn targets_mut<F: FnMut(Reference, &mut String)>(blocks: &mut [Block], visit: &mut F) {
    for block in blocks {
        match block {
            Block::Paragraph(i) | Block::Heading(_, i) => inline_targets(i, visit),
            Block::List { items, .. } => items.iter_mut().for_each(|b| targets_mut(b, visit)),
            Block::Quote(b) => targets_mut(b, visit),
            Block::Table { head, rows, .. } => head
                .iter_mut()
                .chain(rows.iter_mut().flatten())
                .for_each(|c| inline_targets(c, visit)),
            Block::Code(_) | Block::Rule => {}
        }
    }
}

fn inline_targets<F: FnMut(Reference, &mut String)>(inlines: &mut [Inline], visit: &mut F) {
    for inline in inlines {
        match inline {
            Inline::Link { url, children } => {
                visit(Reference::Link, url);
                inline_targets(children, visit);
            }
            Inline::Image { src, .. } => visit(Reference::Image, src),
            Inline::Emph(c) | Inline::Strong(c) | Inline::Strike(c) => inline_targets(c, visit),
            Inline::Text(_)
            | Inline::Code(_)
            | Inline::SoftBreak
            | Inline::HardBreak
            | Inline::FootnoteRef(_) => {}
        }
    }
}

/// Appends the source of every image in `blocks`, in order.
pub fn image_sources<'a>(blocks: &'a [Block], out: &mut Vec<&'a str>) {
    nodes(blocks, &mut |node| {
        if let Node::Image { src, .. } = node {
            out.push(src);
        }
    });
}

/// Calls `f` on every link target and image source, footnotes included.
pub fn for_each_url(body: &mut Body, f: &mut impl FnMut(&mut String)) {
    for blocks in std::iter::once(&mut body.blocks).chain(&mut body.footnotes) {
        targets_mut(blocks, &mut |_, url| f(url));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "# Head [a](https://example.com/a)\n\n> - ![pic](p.png) *[b](https://example.com/b) ![in](i.png)*\n\n| [c](https://example.com/c) |\n|---|\n| ![t](t.png) |\n\n    [not](https://example.com/code)\n";

    #[test]
    fn meets_headings_links_and_images_in_written_order() {
        let body = super::super::markdown::parse(BODY).unwrap();
        let mut met = Vec::new();
        nodes(&body.blocks, &mut |node| {
            met.push(match node {
                Node::Heading(level, _) => format!("h{level}"),
                Node::Link { url, .. } => url.to_string(),
                Node::Image { src, .. } => src.to_string(),
            })
        });
        assert_eq!(
            met,
            [
                "h1",
                "https://example.com/a",
                "p.png",
                "https://example.com/b",
                "i.png",
                "https://example.com/c",
                "t.png"
            ]
        );
    }

    #[test]
    fn changes_the_same_targets_in_the_same_order() {
        let mut body = super::super::markdown::parse(BODY).unwrap();
        let mut seen = Vec::new();
        targets_mut(&mut body.blocks, &mut |target, url| {
            seen.push((target, url.clone()));
            url.push('!');
        });
        let kinds: Vec<Reference> = seen.iter().map(|(t, _)| *t).collect();
        use Reference::{Image, Link};
        assert_eq!(kinds, [Link, Image, Link, Image, Link, Image]);
        let mut after = Vec::new();
        nodes(&body.blocks, &mut |node| match node {
            Node::Link { url, .. } => after.push(url.to_string()),
            Node::Image { src, .. } => after.push(src.to_string()),
            Node::Heading(..) => {}
        });
        let before: Vec<String> = seen.into_iter().map(|(_, u)| u + "!").collect();
        assert_eq!(after, before);
    }
}

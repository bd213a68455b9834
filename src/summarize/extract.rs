//! Getting a page's title and readable text out of its HTML (or plain text).
//!
//! HTML goes through `html5gum`'s WHATWG tokenizer (which decodes entities and knows where
//! script and style text ends) and a small stack of open elements. Text is kept per paragraph
//! and sorted by where it sits: inside an `<article>`, inside `<main>`, or anywhere in the page.
//! The first of those that has text wins, so a page's own content beats its surroundings.
//!
//! Two kinds of element are left out. Chrome (scripts, styles, navigation, headers, footers,
//! asides, iframes, SVG, code listings, `hidden` elements and the ARIA landmarks for them) is
//! dropped wherever it is. Boilerplate guessed from a `class` or `id` (cookie banners, menus, sidebars) and forms
//! are dropped only inside the part of the page that is kept: such guesses also hit wrappers
//! like `<body class="has-sidebar">` or the `<form>` some frameworks wrap every page in.

use html5gum::{Token, Tokenizer};
use url::Url;

use super::error::SummarizeError;
use super::fetch::{ContentType, FetchedPage};

/// Titles longer than this are cut, since they head a Slack message.
const MAX_TITLE_CHARS: usize = 200;

/// Nesting deeper than this is not tracked. Real pages stay far below it; the cap keeps a page
/// of endlessly nested tags from making each end tag a long search.
const MAX_DEPTH: usize = 512;

/// Elements whose content is never text to summarize. `pre` is here because it nearly always
/// holds code, whose lines would otherwise pass for long sentences.
const CHROME_ELEMENTS: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "canvas", "nav",
    "header", "footer", "aside", "select", "textarea", "button", "dialog", "pre",
];

/// ARIA roles of the same chrome.
const CHROME_ROLES: &[&str] = &[
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "search",
    "dialog",
    "alertdialog",
];

/// Words in a `class` or `id` that mark boilerplate.
const BOILERPLATE_WORDS: &[&str] = &[
    "cookie",
    "cookies",
    "consent",
    "gdpr",
    "nav",
    "navbar",
    "navigation",
    "menu",
    "footer",
    "sidebar",
    "breadcrumb",
    "breadcrumbs",
    "share",
    "social",
    "newsletter",
    "related",
    "comments",
    "advert",
    "promo",
];

/// Elements that start a new paragraph where they open and where they close.
const BLOCK_ELEMENTS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "caption",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "td",
    "th",
    "tr",
    "ul",
];

/// Elements that never have content or an end tag.
const VOID_ELEMENTS: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// A page's title and its main text, one string per paragraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub title: String,
    pub paragraphs: Vec<String>,
}

/// Extracts the title and main text of a fetched page.
pub fn extract(page: &FetchedPage) -> Result<Document, SummarizeError> {
    let document = match page.content_type {
        ContentType::Html => from_html(&page.body, &page.url),
        ContentType::PlainText => from_plain_text(&page.body, &page.url),
    };
    if document.paragraphs.is_empty() {
        Err(SummarizeError::TooLittleText)
    } else {
        Ok(document)
    }
}

/// Plain text: paragraphs are separated by blank lines; the title comes from the address.
fn from_plain_text(body: &str, url: &Url) -> Document {
    let mut paragraphs = Vec::new();
    let mut current = String::new();
    for line in body.lines() {
        if line.trim().is_empty() {
            push_paragraph(&mut paragraphs, &current);
            current.clear();
        } else {
            current.push_str(line);
            current.push(' ');
        }
    }
    push_paragraph(&mut paragraphs, &current);
    Document {
        title: title_from_url(url),
        paragraphs,
    }
}

fn from_html(body: &str, url: &Url) -> Document {
    let mut emitter = html5gum::DefaultEmitter::default();
    // Without a tree builder the tokenizer needs telling that <script>, <style> and <title> hold
    // raw text, or their contents come out as tags and text.
    emitter.naively_switch_states(true);
    let mut walker = Walker::default();
    for token in Tokenizer::new_with_emitter(body, emitter).flatten() {
        walker.token(token);
    }
    walker.finish(url)
}

/// What an open element means for the text inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ordinary,
    /// Never text: chrome such as scripts and navigation.
    Chrome,
    /// Probably boilerplate, judged by `class`, `id` or being a form.
    Boilerplate,
    Article,
    Main,
    Title,
    Heading,
}

/// Where in the page a position is, as far as text is concerned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Context {
    /// Inside chrome: nothing here is text.
    chrome: bool,
    /// Inside a `<title>`.
    title: bool,
    /// Inside an `<h1>`.
    heading: bool,
    /// Inside guessed boilerplate, anywhere up the tree.
    boilerplate: bool,
    /// Inside an `<article>`, and whether no boilerplate lies between the innermost one and here.
    article: Option<bool>,
    /// The same for `<main>`.
    main: Option<bool>,
}

impl Context {
    /// The context inside an element of `kind` opened here.
    fn enter(self, kind: Kind) -> Self {
        let mut inner = self;
        match kind {
            Kind::Ordinary => {}
            Kind::Chrome => inner.chrome = true,
            Kind::Title => inner.title = true,
            Kind::Heading => inner.heading = true,
            Kind::Boilerplate => {
                inner.boilerplate = true;
                inner.article = self.article.map(|_| false);
                inner.main = self.main.map(|_| false);
            }
            Kind::Article => inner.article = Some(true),
            Kind::Main => inner.main = Some(true),
        }
        inner
    }

    /// Where text here belongs; `None` for chrome and the title.
    fn placement(self) -> Option<Placement> {
        (!self.chrome && !self.title).then_some(Placement {
            in_article: self.article == Some(true),
            in_main: self.main == Some(true),
            in_page: !self.boilerplate,
        })
    }
}

/// Which candidate parts of the page a run of text belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Placement {
    in_article: bool,
    in_main: bool,
    in_page: bool,
}

#[derive(Debug)]
struct OpenElement {
    name: Vec<u8>,
    kind: Kind,
    /// The context of this element's content, so text never needs a walk up the stack.
    context: Context,
}

#[derive(Debug, Default)]
struct Walker {
    open: Vec<OpenElement>,
    /// The paragraph being collected and where it belongs.
    paragraph: Option<(Placement, String)>,
    article: Vec<String>,
    main: Vec<String>,
    page: Vec<String>,
    title: Option<String>,
    og_title: Option<String>,
    first_heading: Option<String>,
    /// Text of the `<title>` or first `<h1>` being read.
    title_text: String,
    heading_text: String,
}

impl Walker {
    fn token(&mut self, token: Token) {
        match token {
            Token::StartTag(tag) => {
                let name: &[u8] = &tag.name;
                let attribute = |attribute: &str| {
                    tag.attributes
                        .get(attribute.as_bytes())
                        .map(|value| String::from_utf8_lossy(value).into_owned())
                };
                if name == b"meta" && self.og_title.is_none() {
                    let property = attribute("property").or_else(|| attribute("name"));
                    if property.is_some_and(|p| p.eq_ignore_ascii_case("og:title")) {
                        self.og_title = attribute("content").and_then(|c| clean_title(&c));
                    }
                }
                if is_one_of(name, BLOCK_ELEMENTS) {
                    self.end_paragraph();
                }
                if tag.self_closing || is_one_of(name, VOID_ELEMENTS) {
                    return;
                }
                let kind = classify(
                    name,
                    attribute("role").as_deref(),
                    &[attribute("class"), attribute("id")],
                    tag.attributes.contains_key(b"hidden".as_slice()),
                );
                if kind != Kind::Ordinary {
                    self.end_paragraph();
                }
                // Deeper elements are not tracked; their content counts as their parent's.
                if self.open.len() < MAX_DEPTH {
                    let context = self.context().enter(kind);
                    self.open.push(OpenElement {
                        name: name.to_vec(),
                        kind,
                        context,
                    });
                }
            }
            Token::EndTag(tag) => {
                let name: &[u8] = &tag.name;
                if is_one_of(name, BLOCK_ELEMENTS) {
                    self.end_paragraph();
                }
                // Close the innermost element of that name and everything left open inside
                // it; an end tag with nothing to close is ignored, as browsers do.
                if let Some(position) = self.open.iter().rposition(|open| open.name == name) {
                    let closed = self.open.split_off(position);
                    if closed.iter().any(|open| open.kind != Kind::Ordinary) {
                        self.end_paragraph();
                    }
                    self.closed(&closed);
                }
            }
            Token::String(text) => self.text(&String::from_utf8_lossy(&text.value)),
            Token::Comment(_) | Token::Doctype(_) | Token::Error(_) => {}
        }
    }

    fn context(&self) -> Context {
        self.open
            .last()
            .map_or_else(Context::default, |open| open.context)
    }

    fn text(&mut self, text: &str) {
        let context = self.context();
        if !context.chrome {
            if context.title && self.title.is_none() {
                self.title_text.push_str(text);
            }
            if context.heading && self.first_heading.is_none() {
                self.heading_text.push_str(text);
            }
        }
        let Some(placement) = context.placement() else {
            return;
        };
        match &mut self.paragraph {
            Some((current, paragraph)) if *current == placement => paragraph.push_str(text),
            _ => {
                self.end_paragraph();
                self.paragraph = Some((placement, text.to_owned()));
            }
        }
    }

    /// Records what the closing of these elements completes.
    fn closed(&mut self, closed: &[OpenElement]) {
        for element in closed {
            match element.kind {
                Kind::Title if self.title.is_none() => {
                    self.title = clean_title(&self.title_text);
                    self.title_text.clear();
                }
                Kind::Heading if self.first_heading.is_none() => {
                    self.first_heading = clean_title(&self.heading_text);
                    self.heading_text.clear();
                }
                _ => {}
            }
        }
    }

    fn end_paragraph(&mut self) {
        let Some((placement, text)) = self.paragraph.take() else {
            return;
        };
        let paragraph = collapse_whitespace(&text);
        if paragraph.is_empty() {
            return;
        }
        if placement.in_article {
            self.article.push(paragraph.clone());
        }
        if placement.in_main {
            self.main.push(paragraph.clone());
        }
        if placement.in_page {
            self.page.push(paragraph);
        }
    }

    fn finish(mut self, url: &Url) -> Document {
        self.end_paragraph();
        let unclosed: Vec<OpenElement> = std::mem::take(&mut self.open);
        self.closed(&unclosed);
        let paragraphs = [self.article, self.main, self.page]
            .into_iter()
            .find(|paragraphs| !paragraphs.is_empty())
            .unwrap_or_default();
        let title = self
            .title
            .or(self.og_title)
            .or(self.first_heading)
            .unwrap_or_else(|| title_from_url(url));
        Document { title, paragraphs }
    }
}

fn classify(
    name: &[u8],
    role: Option<&str>,
    class_and_id: &[Option<String>],
    hidden: bool,
) -> Kind {
    let role_is_chrome = role.is_some_and(|role| {
        role.split_ascii_whitespace().any(|role| {
            CHROME_ROLES
                .iter()
                .any(|chrome| role.eq_ignore_ascii_case(chrome))
        })
    });
    if hidden || role_is_chrome || is_one_of(name, CHROME_ELEMENTS) {
        return Kind::Chrome;
    }
    match name {
        b"title" => return Kind::Title,
        b"h1" => return Kind::Heading,
        b"article" => return Kind::Article,
        b"main" => return Kind::Main,
        b"form" => return Kind::Boilerplate,
        _ => {}
    }
    if role.is_some_and(|role| role.eq_ignore_ascii_case("main")) {
        return Kind::Main;
    }
    let boilerplate = class_and_id.iter().flatten().any(|value| {
        value
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| {
                BOILERPLATE_WORDS
                    .iter()
                    .any(|b| word.eq_ignore_ascii_case(b))
            })
    });
    if boilerplate && !matches!(name, b"html" | b"body") {
        Kind::Boilerplate
    } else {
        Kind::Ordinary
    }
}

fn is_one_of(name: &[u8], names: &[&str]) -> bool {
    names.iter().any(|candidate| candidate.as_bytes() == name)
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn push_paragraph(paragraphs: &mut Vec<String>, text: &str) {
    let paragraph = collapse_whitespace(text);
    if !paragraph.is_empty() {
        paragraphs.push(paragraph);
    }
}

/// A title fit for a message heading: one line, bounded, or `None` when blank.
fn clean_title(text: &str) -> Option<String> {
    let title = collapse_whitespace(text);
    if title.is_empty() {
        return None;
    }
    if title.chars().count() <= MAX_TITLE_CHARS {
        return Some(title);
    }
    let mut cut: String = title.chars().take(MAX_TITLE_CHARS - 1).collect();
    cut.push('…');
    Some(cut)
}

/// What to call a page that names itself nowhere: its host and path.
fn title_from_url(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    let path = url.path().trim_end_matches('/');
    clean_title(&format!("{host}{path}")).unwrap_or_else(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(body: &str) -> FetchedPage {
        FetchedPage {
            url: Url::parse("https://example.com/news/story").expect("URL"),
            content_type: ContentType::Html,
            body: body.to_owned(),
        }
    }

    fn extract_html(body: &str) -> Document {
        extract(&html(body)).expect("a document")
    }

    #[test]
    fn chrome_around_an_article_is_dropped() {
        let doc = extract_html(
            r#"<!doctype html><html><head><title>Story</title>
            <style>p { color: red; }</style><script>var x = "<p>not text</p>";</script></head>
            <body><header><h1>Site name</h1></header><pre>let code = "not prose";</pre>
            <nav><ul><li><a href="/">Home</a></li></ul></nav>
            <article><h1>The story</h1><p>First paragraph.</p><p>Second <b>bold</b> one.</p></article>
            <aside>Related links</aside><footer>Copyright</footer></body></html>"#,
        );

        assert_eq!(doc.title, "Story");
        assert_eq!(
            doc.paragraphs,
            ["The story", "First paragraph.", "Second bold one."]
        );
    }

    #[test]
    fn main_is_used_when_there_is_no_article() {
        let doc = extract_html(
            "<body><div>Outside text.</div><main><p>Inside main.</p>\
             <div role=\"navigation\">Skip me</div></main></body>",
        );

        assert_eq!(doc.paragraphs, ["Inside main."]);
    }

    #[test]
    fn whole_page_is_used_without_article_or_main_minus_boilerplate() {
        let doc = extract_html(
            "<body class=\"has-sidebar\"><div id=\"cookie-banner\">We use cookies.</div>\
             <div class=\"content\"><p>Real text here.</p></div>\
             <div class=\"main-menu\"><p>Products</p></div>\
             <ul class=\"sidebar\"><li>Archive</li></ul>\
             <div class=\"canvas-wrapper\"><p>Kept, canvas is not nav.</p></div>\
             <form><p>Subscribe now.</p></form></body>",
        );

        assert_eq!(
            doc.paragraphs,
            ["Real text here.", "Kept, canvas is not nav."]
        );
    }

    #[test]
    fn boilerplate_class_on_a_wrapper_does_not_hide_the_article() {
        let doc = extract_html(
            "<body><form id=\"aspnetForm\"><div class=\"layout-with-sidebar\">\
             <article><p>The article.</p><div class=\"share-buttons\">Tweet this.</div></article>\
             </div></form></body>",
        );

        assert_eq!(doc.paragraphs, ["The article."]);
    }

    #[test]
    fn entities_are_decoded_and_whitespace_collapsed() {
        let doc = extract_html(
            "<p>Fish &amp; chips&nbsp;cost &pound;5 &#8212; &lt;cheap&gt;\n\n   today.</p>",
        );

        assert_eq!(doc.paragraphs, ["Fish & chips cost £5 — <cheap> today."]);
    }

    #[test]
    fn paragraph_boundaries_are_kept_and_inline_text_joined() {
        let doc = extract_html(
            "<div>One <em>line</em><br>Two<ul><li>Three</li><li>Four</li></ul>\
             <table><tr><td>Five</td><td>Six</td></tr></table></div>",
        );

        assert_eq!(
            doc.paragraphs,
            ["One line", "Two", "Three", "Four", "Five", "Six"]
        );
    }

    #[test]
    fn hidden_and_self_closing_svg_elements_are_handled() {
        let doc = extract_html(
            "<body><svg viewBox=\"0 0 1 1\"/><p>After the icon.</p>\
             <svg><title>Icon title</title><text>Icon text</text></svg>\
             <div hidden>Hidden text.</div><p>End.</p></body>",
        );

        assert_eq!(doc.title, "example.com/news/story");
        assert_eq!(doc.paragraphs, ["After the icon.", "End."]);
    }

    #[test]
    fn title_falls_back_to_og_title_then_first_heading() {
        let og = extract_html(
            "<head><meta property=\"og:title\" content=\"Open Graph title\"></head>\
             <body><h1>Heading</h1><p>Text.</p></body>",
        );
        let heading = extract_html("<body><h1>The  <em>heading</em></h1><p>Text.</p></body>");
        let blank_title = extract_html("<title>  </title><h1>Heading</h1><p>Text.</p>");

        assert_eq!(og.title, "Open Graph title");
        assert_eq!(heading.title, "The heading");
        assert_eq!(blank_title.title, "Heading");
    }

    #[test]
    fn absurdly_deep_nesting_is_survived() {
        let body = format!(
            "<article>{}<p>Deep text.</p></article>",
            "<div>".repeat(100_000)
        );

        let doc = extract_html(&body);

        assert_eq!(doc.paragraphs, ["Deep text."]);
    }

    #[test]
    fn long_titles_are_cut() {
        let doc = extract_html(&format!(
            "<title>{}</title><p>Text.</p>",
            "word ".repeat(100)
        ));

        assert_eq!(doc.title.chars().count(), MAX_TITLE_CHARS);
        assert!(doc.title.ends_with('…'));
    }

    #[test]
    fn plain_text_paragraphs_are_separated_by_blank_lines() {
        let page = FetchedPage {
            url: Url::parse("https://example.com/notes.txt").expect("URL"),
            content_type: ContentType::PlainText,
            body: "First line\ncontinues here.\n\n  \nSecond paragraph.\r\n\r\nThird.".to_owned(),
        };

        let doc = extract(&page).expect("a document");

        assert_eq!(doc.title, "example.com/notes.txt");
        assert_eq!(
            doc.paragraphs,
            ["First line continues here.", "Second paragraph.", "Third."]
        );
    }

    #[test]
    fn a_page_with_no_text_is_too_little() {
        assert_eq!(
            extract(&html(
                "<html><head><script>x()</script></head><body></body></html>"
            )),
            Err(SummarizeError::TooLittleText)
        );
    }
}

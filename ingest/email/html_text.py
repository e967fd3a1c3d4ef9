"""HTML mail → readable text: paragraphs and line breaks kept, scripts and styles dropped.

Quoted history in HTML (Gmail's `gmail_quote`, Outlook's `divRplyFwdMsg` and the `<hr>` or
border-top `<div>` that follows it, `<blockquote type="cite">`) is removed for the clean text.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

# What is read of an HTML body: enough for any letter a person writes, bounded for a bomb.
MAX_HTML_CHARS = 500_000
MAX_TEXT_CHARS = 200_000
_DROP = ("script", "style", "head", "title", "meta", "noscript", "template", "svg")
_BLOCK = {
    "p", "div", "section", "article", "header", "footer", "table", "tr", "ul", "ol", "li", "h1", "h2",
    "h3", "h4", "h5", "h6", "blockquote", "pre", "address", "dl", "dt", "dd", "form", "fieldset", "center",
}
_QUOTE_SELECTORS = (
    "div.gmail_quote", "blockquote.gmail_quote", "div.gmail_extra", "blockquote[type=cite]",
    "div#divRplyFwdMsg", "div#appendonsend", "div.yahoo_quoted", "div#mail-editor-reference-message-container",
    "div.moz-cite-prefix", "div.OutlookMessageHeader",
)


def _soup(html: str) -> BeautifulSoup:
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(_DROP):
        tag.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    return soup


def _selector_parts(selector: str) -> tuple[str, str, str, str]:
    """"div.gmail_quote" → ("div", "class", "gmail_quote", selector); also "#id" and "[attr=value]"."""
    match = re.fullmatch(r"(\w+)(?:\.([\w-]+)|#([\w-]+)|\[(\w+)=([\w-]+)\])", selector)
    assert match, selector
    name, cls, ident, attr, value = match.groups()
    if cls:
        return name, "class", cls, selector
    if ident:
        return name, "id", ident, selector
    return name, attr, value, selector


_QUOTE_MATCHERS = tuple(_selector_parts(s) for s in _QUOTE_SELECTORS)
_QUOTE_NAMES = sorted({m[0] for m in _QUOTE_MATCHERS})


def _quote_selector(tag: Tag) -> str | None:
    """Which of _QUOTE_SELECTORS the tag matches (one pass over the tree, not one per selector)."""
    for name, attr, value, selector in _QUOTE_MATCHERS:
        if tag.name != name:
            continue
        found = tag.get(attr)
        if attr == "class" and isinstance(found, list) and value in found:
            return selector
        if attr != "class" and isinstance(found, str) and found.lower() == value.lower():
            return selector
    return None


def _remove_quoted(soup: BeautifulSoup) -> None:
    matched = [(tag, sel) for tag in soup.find_all(_QUOTE_NAMES) if (sel := _quote_selector(tag))]
    for tag, selector in matched:
        if tag.decomposed:
            continue  # inside a quote already removed
        if selector == "div#divRplyFwdMsg":
            # Outlook: the <hr> before the header block and everything after it is history.
            for sibling in list(tag.find_next_siblings()):
                sibling.decompose()
            previous = tag.find_previous_sibling()
            if isinstance(previous, Tag) and previous.name == "hr":
                previous.decompose()
        tag.decompose()


_OPEN_CLOSE: dict[str, tuple[str, str]] = {"td": ("", "\t"), "th": ("", "\t"), "li": ("\n- ", "\n")}
_PARAGRAPH_END = ("p", "table", "h1", "h2", "h3", "h4", "blockquote")
_SPACES = re.compile(r"[ \t\r\n\f\u00a0]+")


def _render(root: Tag, out: list[str], max_chars: int) -> bool:
    """The text of the tree, in document order, with an explicit stack (any depth of nesting).

    Stops once max_chars of text are kept; returns True when it stopped early.
    """
    kept = 0
    stack: list[object] = [iter(root.children)]
    while stack:
        top = stack[-1]
        if isinstance(top, str):  # text to write once an element's children are done
            stack.pop()
            out.append(top)
            continue
        child = next(top, None)  # type: ignore[call-overload]
        if child is None:
            stack.pop()
            continue
        if isinstance(child, NavigableString):
            text = _SPACES.sub(" ", str(child))
            out.append(text)
            kept += len(text)
            if kept > max_chars:
                return True
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name
        if name == "br":
            out.append("\n")
        elif name == "hr":
            out.append("\n\n")
        elif name == "img":
            continue
        else:
            before, after = _OPEN_CLOSE.get(name, ("\n", "\n\n" if name in _PARAGRAPH_END else "\n") if name in _BLOCK else ("", ""))
            out.append(before)
            stack.append(after)
            stack.append(iter(child.children))
    return False


def _tidy(text: str) -> str:
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def html_to_texts(html: str, notes: list[str] | None = None) -> tuple[str, str]:
    """(the whole text, the text without quoted history) of an HTML body, parsed once.

    HTML beyond MAX_HTML_CHARS is not parsed and text beyond MAX_TEXT_CHARS is not kept: each
    cut is added to `notes` (the raw item keeps everything)."""
    notes = notes if notes is not None else []
    if len(html) > MAX_HTML_CHARS:
        notes.append(f"HtmlTruncated: {len(html):,} characters, {MAX_HTML_CHARS:,} read")
        html = html[:MAX_HTML_CHARS]
    soup = _soup(html)
    texts = []
    for drop_quoted in (False, True):
        if drop_quoted:
            _remove_quoted(soup)
        out: list[str] = []
        if _render(soup, out, MAX_TEXT_CHARS) and not drop_quoted:
            notes.append(f"HtmlTextTruncated: text kept up to {MAX_TEXT_CHARS:,} characters")
        texts.append(_tidy("".join(out)))
    return texts[0], texts[1]


def html_to_text(html: str, *, drop_quoted: bool = False, notes: list[str] | None = None) -> str:
    """Readable text of an HTML body (see html_to_texts)."""
    full, clean = html_to_texts(html, notes)
    return clean if drop_quoted else full

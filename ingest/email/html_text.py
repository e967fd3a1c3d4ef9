"""HTML mail → readable text: paragraphs and line breaks kept, scripts and styles dropped.

Quoted history in HTML (Gmail's `gmail_quote`, Outlook's `divRplyFwdMsg` and the `<hr>` or
border-top `<div>` that follows it, `<blockquote type="cite">`) is removed for the clean text.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

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


def _remove_quoted(soup: BeautifulSoup) -> None:
    for selector in _QUOTE_SELECTORS:
        for tag in soup.select(selector):
            if selector == "div#divRplyFwdMsg":
                # Outlook: the <hr> before the header block and everything after it is history.
                for sibling in list(tag.find_next_siblings()):
                    sibling.decompose()
                previous = tag.find_previous_sibling()
                if isinstance(previous, Tag) and previous.name == "hr":
                    previous.decompose()
            tag.decompose()


def _render(node: Tag, out: list[str]) -> None:
    for child in node.children:
        if isinstance(child, NavigableString):
            text = re.sub(r"[ \t\r\n\f\u00a0]+", " ", str(child))
            out.append(text)
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name
        if name == "br":
            out.append("\n")
        elif name in ("td", "th"):
            _render(child, out)
            out.append("\t")
        elif name == "hr":
            out.append("\n\n")
        elif name == "li":
            out.append("\n- ")
            _render(child, out)
            out.append("\n")
        elif name in _BLOCK:
            out.append("\n")
            _render(child, out)
            out.append("\n\n" if name in ("p", "table", "h1", "h2", "h3", "h4", "blockquote") else "\n")
        elif name == "img":
            continue
        else:
            _render(child, out)


def _tidy(text: str) -> str:
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def html_to_text(html: str, *, drop_quoted: bool = False) -> str:
    soup = _soup(html)
    if drop_quoted:
        _remove_quoted(soup)
    out: list[str] = []
    _render(soup, out)
    return _tidy("".join(out))

"""HTML to plain text with the standard library, bounded against hostile nesting."""

from __future__ import annotations

import html
from html.parser import HTMLParser

_BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table",
               "blockquote", "pre", "hr", "section", "article"}
_SKIP_TAGS = {"script", "style", "head", "title"}


class _TextExtractor(HTMLParser):
    def __init__(self, max_chars: int) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0
        self.size = 0
        self.max_chars = max_chars

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _SKIP_TAGS:
            self.skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self.skip_depth:
            self.skip_depth -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skip_depth or self.size >= self.max_chars:
            return
        self.parts.append(data)
        self.size += len(data)


def html_to_text(markup: str, max_chars: int = 2_000_000) -> str:
    """Visible text of an HTML document; paragraphs become line breaks.

    The parser is iterative (no recursion), so deeply nested markup cannot blow the stack.
    """
    parser = _TextExtractor(max_chars)
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # html.parser is lenient; this guards only truly broken input
        return html.unescape(markup)[:max_chars]
    lines = ("".join(parser.parts)).splitlines()
    text = "\n".join(" ".join(line.split()) for line in lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()[:max_chars]

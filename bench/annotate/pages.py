"""Consent and instructions pages: the campaign folder's Markdown rendered safely.

markdown-it-py in CommonMark mode with raw HTML off: a <script> or an inline event handler in
the Markdown comes out as escaped text, and links are limited to http(s) and mailto (the
library's validateLink drops javascript: and data: URLs). The Content-Security-Policy
(bench.annotate.security) is a second wall.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def render_markdown(text: str) -> Markup:
    return Markup(_md.render(text))  # safe: html=False escapes every tag in the source

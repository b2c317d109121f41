"""Untrusted markdown (handoff bodies, learning text) rendered by the console: every XSS
shape comes out as inert text or a harmless link, read through a real HTML parser (the tags and
attributes a browser would build), not by looking for substrings."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from memory_service.console.rendering import markdown_html

ATTACKS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=2">',
    "[click](javascript:window.__xss=3)",
    "[e](&#106;avascript:window.__xss=4)",
    '<a href="jav&#x09;ascript:window.__xss=5">t</a>',
    "<svg onload=window.__xss=6>",
    '<iframe src="javascript:window.__xss=7">',
    "<style>body{display:none}</style>",
    "[x](JAVASCRIPT:window.__xss=8)",
    "![i](javascript:window.__xss=9)",
    "[d](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTA8L3NjcmlwdD4=)",
    "[v](vbscript:msgbox(1))",
    "<a href='https://ok.example' onclick='window.__xss=11'>x</a>",
    '[t](https://ok.example "a\\" onmouseover=\\"window.__xss=12")',
    "<details open ontoggle=window.__xss=13>",
    "<math><mi xlink:href=javascript:window.__xss=14>x</mi></math>",
    "```html\n<script>window.__xss=15</script>\n```",
    "`<img src=x onerror=window.__xss=16>`",
    "<!--><script>window.__xss=17</script>-->",
]
SAFE_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip


class _Elements(HTMLParser):
    """The elements and attributes a browser would build from the HTML, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser


@pytest.mark.parametrize("source", ATTACKS)
def test_attacks_render_inert(source: str) -> None:
    parsed = _parse(str(markdown_html(source)))
    for tag, attrs in parsed.tags:
        assert tag in SAFE_TAGS, (source, tag)
        for name, value in attrs.items():
            assert not name.startswith("on"), (source, name)
            assert name in {"href", "title", "rel", "start", "align"}, (source, name)
            if name == "href":
                assert value is not None
                assert value.startswith(("https://", "http://", "mailto:")), (source, value)


def test_script_is_shown_as_text() -> None:
    parsed = _parse(str(markdown_html("Before <script>window.__xss=1</script> after")))
    assert [t for t, _ in parsed.tags] == ["p"]
    assert "".join(parsed.text).strip() == "Before <script>window.__xss=1</script> after"


def test_safe_markdown_still_renders() -> None:
    html = str(markdown_html("## Decisions\n- **Cache** for [5 min](https://docs.example/c)\n"))
    parsed = _parse(html)
    assert [t for t, _ in parsed.tags] == ["h2", "ul", "li", "strong", "a"]
    link = parsed.tags[-1][1]
    assert link["href"] == "https://docs.example/c"
    assert link["rel"] == "noopener noreferrer nofollow"


def test_a_long_line_is_kept_whole() -> None:
    line = "x" * 10_000
    parsed = _parse(str(markdown_html(f"# Title\n{line}\n")))
    assert line in "".join(parsed.text)

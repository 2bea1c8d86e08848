"""Reading an HTML page: its article text (trafilatura), and what the page states about it (headline, authors,
publication date by htmldate, canonical URL, site name, declared language, image captions).

Nothing is guessed: a field the page does not state is None; the publication date is never the time the
page was fetched.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from urllib.parse import urlsplit

import htmldate
import trafilatura
from htmldate.extractors import try_date_expr
from htmldate.settings import MIN_DATE
from lxml.html import HtmlElement
from trafilatura.metadata import extract_author

_SPACE = re.compile(r"\s+")
_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"\w+")
# `Title | Site`, `Title - Site`, `Site: Title`: the separators a <title> joins the site name with.
_TITLE_SEPARATOR = re.compile(r"\s+[|\-–—:·»]\s+")
_AUTHOR_SEPARATOR = re.compile(r"\s*;\s*")
# A desk's credit names no person (`Sports Staff`, `Staff reports`): on the NAEB pages 4 gold author sets are empty where
# trafilatura gives one, from 3 outlets.
_DESK_CREDIT = re.compile(r"\bstaff\b", re.IGNORECASE)
# Author pages: HTML's rel=author link type, or a URL whose path names the role (WordPress's `/author/<name>/`, also
# `/authors/`, `/writer/`, `/contributor/`): on the NAEB pages, the byline they make after the headline (`byline`) is the
# gold set on 102 of 200 pages, part of it on 6, wrong on 14 (a link's label, a photo credit, a later story's writer);
# none on 78. It is read only where the metadata names nobody: there, 7 pages gained and none lost.
_AUTHOR_PAGE = re.compile(r"/(?:author|writer|contributor)s?/", re.IGNORECASE)
# A name is 2 to 4 words, each beginning with a letter: 195 of NAEB's 196 gold authors (one is one word).
_NAME = re.compile(r"^[^\W\d_][\w'’.-]*(?: [^\W\d_][\w'’.-]*){1,3}$")
_LINK_NAME_END = re.compile(r"\s*[,|]")
_LISTED = re.compile(r"\s*[,;]\s*")
_INLINE = {"a", "span", "strong", "em", "b", "i", "small", "time"}
# A date line under the headline: one of the first 10 lines of text after it (on NAEB the gold day is printed on lines
# 1 to 7; 6, 8 and 10 lines score the same; a later date belongs to a list of other stories), of at most 60 characters
# (a sentence that names a day is not a date line).
_LINES_UNDER = "following::text()[normalize-space()][not(ancestor::script or ancestor::style or ancestor::noscript)]"
_DATE_LINES = 10
_MAX_DATE_LINE = 60
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}\b")
_PROFILE_LINK = re.compile(r"^(?:view|see|read)\s+(?:all\s+)?(?:posts|articles|stories)\s+by\s+", re.IGNORECASE)
_LANGUAGE = re.compile(r"^([a-z]{2,3})(?:[-_]|$)", re.IGNORECASE)
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})
# A headline shares this share of its words with the page's metadata title when it is the article's, not a section's
# (on html-dev's NAEB pages, the first <h1> is the gold title 173 times in 200; the one most like the metadata title, 175).
_MIN_TITLE_OVERLAP = 0.6
_MAX_TITLE_CHARS = 300
# Fewer words are a menu or a teaser, not an article: html-dev's shortest gold body has 37 words (NAEB), 66 (ScrapingHub).
_MIN_ARTICLE_WORDS = 20
_VISIBLE_TEXT = "//body//text()[not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::template)]"
# Reader comments are not the article: on the ScrapingHub pages, body F1 0.953 with them, 0.960 without; preferring
# precision (trafilatura's stricter boilerplate filters) 0.964.
_EXTRACTION = {"include_comments": False, "favor_precision": True, "with_metadata": True}


@dataclass(frozen=True)
class Page:
    """What one HTML page says: its article's paragraphs, and the metadata it states (None where it states none)."""

    title: str | None
    paragraphs: list[str]
    authors: list[str] = field(default_factory=list)
    published_on: date | None = None
    url: str | None = None
    site_name: str | None = None
    declared_lang: str | None = None
    captions: list[str] = field(default_factory=list)
    page_chars: int = 0  # the page's visible text (whitespace collapsed)

    @property
    def published_at(self) -> datetime | None:
        """The publication day as a time (midnight): pages state the day reliably, the hour seldom."""
        return datetime.combine(self.published_on, time()) if self.published_on else None

    @property
    def dropped_chars(self) -> int:
        """Characters of the page's visible text the extractor left out (menus, links, comments, ads)."""
        return max(self.page_chars - sum(len(p) for p in self.paragraphs) - len(self.title or ""), 0)


class NoArticle(ValueError):
    """The page holds no text the extractor recognises as an article."""


def read_page(page: str, url: str | None = None) -> Page:
    """The article of an HTML page (its decoded text), or NoArticle."""
    tree = trafilatura.load_html(page)
    if tree is None:
        raise NoArticle("not an HTML document")
    page_chars = len(_collapsed(" ".join(tree.xpath(_VISIBLE_TEXT))))
    document = trafilatura.bare_extraction(tree, url=url, **_EXTRACTION)
    paragraphs = [line for line in (_collapsed(t) for t in (document.text or "").split("\n")) if line] if document else []
    if not paragraphs:
        raise NoArticle(f"no article text among {page_chars} characters of visible text")
    site_name = document.sitename or None
    title = headline(tree, site_name) or document.title
    # trafilatura keeps the article's <h1>: it is the title, not the body's first paragraph.
    while paragraphs and title and paragraphs[0].casefold() == title.casefold():
        paragraphs.pop(0)
    if (words := sum(len(_WORD.findall(p)) for p in paragraphs)) < _MIN_ARTICLE_WORDS:
        raise NoArticle(f"{words} words of article text under the headline, {page_chars} characters of visible text")
    structured = json_ld(tree)
    return Page(
        title=title,
        paragraphs=paragraphs,
        authors=authors(document.author, site_name, structured, (url, document.url), tree, title),
        published_on=publication_date(tree, url, title, structured),
        url=document.url or url,
        site_name=site_name,
        declared_lang=declared_language(tree),
        captions=captions(tree),
        page_chars=page_chars,
    )


def headline(tree: HtmlElement, site_name: str | None) -> str | None:
    """The headline the page shows: the <h1> most like its metadata title, else the first <h1>, else the metadata
    title without the site's name."""
    titles = [t for t in metadata_titles(tree) if t]
    h1s = [h for h in (_collapsed(e.text_content()) for e in tree.iter("h1")) if h and len(h) <= _MAX_TITLE_CHARS]
    if h1s:
        overlaps = [max((_overlap(h, t) for t in titles), default=0.0) for h in h1s]
        best = max(range(len(h1s)), key=overlaps.__getitem__)
        return h1s[best] if overlaps[best] >= _MIN_TITLE_OVERLAP else h1s[0]
    return next((without_site_name(t, site_name) for t in titles), None)


def authors(
    found: str | None,
    site_name: str | None,
    structured: list[dict] = (),
    page_urls: tuple[str | None, ...] = (),
    tree: HtmlElement | None = None,
    title: str | None = None,
) -> list[str]:
    """trafilatura's authors without the site's name, a profile link's words or digits (`March 9`), and without single
    words beside full names (a handle, a label: `Tpluto`, `Sponsored`, `February`, or a name's URL slug): 1 of the
    196 gold authors of html-dev's NAEB pages is one word; exact author sets 0.72 as trafilatura gives them, 0.75 so.
    The page's JSON-LD (`structured`) mends and sorts them: a name is written as the page writes it (trafilatura drops
    an initial's dot: `Jane Q Doe`), and an organisation (the publisher, an author typed Organization) is an author only
    when no person is: NAEB exact author sets 0.75 -> 0.765 (4 initials mended, 2 outlets dropped, 1 gold name without
    the `Jr.` the page prints); desk credits left out, 0.785.
    The site is also named by the page's host (`cleveland.com`, `thedailyjournal.com` -> `The Daily Journal`): 0.785 ->
    0.79. When the metadata names nobody, the visible byline (`tree`) does: trafilatura's byline elements
    (`extract_author`: class/id/itemprop author or byline), else the links to author pages under the headline
    (`byline`): 0.79 -> 0.83 and 0.865 (16 pages gained, none lost; 2 misses went from nobody to a photo credit). The
    holder the page's copyright notice names (`Copyright (c) Harbour Media 2025`) owns the page rather than writing it:
    an author only when no one else is, 0.875. An author meta tag also writes the names (`Jane Q. Doe`), 0.88."""
    sites = _site_names(site_name, page_urls)
    kept = _author_names(found, sites)
    if not kept and tree is not None:
        kept = _author_names(extract_author(tree) or byline(tree, title), sites)
    if any(" " in n for n in kept):
        kept = [n for n in kept if " " in n]
    written = [*_structured_names(structured, "Person"), *(n for m in _meta(tree, "author") for n in _LISTED.split(m))]
    spelt = {_letters(name): _collapsed(name) for name in written}
    kept = [spelt.get(_letters(n), n) for n in kept]
    owners = {_letters(name) for name in _structured_names(structured, "Organization")}
    notices = _letters(" ".join(_meta(tree, "copyright")))
    people = [n for n in kept if _letters(n) not in owners and not (notices and _letters(n) in notices)]
    return list(dict.fromkeys(people or kept))


def _meta(tree: HtmlElement | None, name: str) -> list[str]:
    return tree.xpath(f'//meta[@name="{name}"]/@content') if tree is not None else []


def _site_names(site_name: str | None, page_urls: tuple[str | None, ...]) -> set[str]:
    """The site's name and its hosts (`www.harbour-post.com` -> `harbourpostcom`, `harbourpost`), as letters."""
    hosts = {(urlsplit(url).hostname or "").removeprefix("www.") for url in page_urls if url}
    return {_letters(name) for name in (site_name or "", *hosts, *(h.rpartition(".")[0] for h in hosts))} - {""}


def _author_names(found: str | None, sites: set[str]) -> list[str]:
    names = [_PROFILE_LINK.sub("", a) for a in _AUTHOR_SEPARATOR.split(found or "") if a]
    return [n for n in names if _letters(n) not in sites and not _DIGIT.search(n) and not _DESK_CREDIT.search(n)]


def byline(tree: HtmlElement, title: str | None) -> str | None:
    """The names of the first byline after the headline (the page's first if no <h1> is the headline): the links to
    author pages in the block holding the first such link whose text is a name."""
    h1 = _headline_element(tree, title)
    links = h1.xpath("following::a[@href]") if h1 is not None else tree.xpath("//body//a[@href]")
    for link in links:
        if _is_author_link(link) and _link_name(link):
            block = link.getparent()
            while block.tag in _INLINE and block.getparent() is not None:
                block = block.getparent()
            names = dict.fromkeys(_link_name(a) for a in block.iter("a") if _is_author_link(a))
            return "; ".join(n for n in names if n)
    return None


def _is_author_link(link: HtmlElement) -> bool:
    """A link to an author's page, not in a picture's caption (a photographer's credit)."""
    to_author = "author" in (link.get("rel") or "").split() or bool(_AUTHOR_PAGE.search(link.get("href") or ""))
    return to_author and not link.xpath("ancestor::figure or ancestor::figcaption")


def _link_name(link: HtmlElement) -> str:
    """The name a link to an author page shows, if it is name-shaped, up to a comma or bar (`Jane Doe, Harbour Wire`)."""
    name = _LINK_NAME_END.split(_collapsed(link.text_content()), maxsplit=1)[0]
    return name if _NAME.match(name) else ""


def _structured_names(objects: list[dict], kind: str) -> list[str]:
    """The names of the JSON-LD objects of a kind (`Person`, `Organization` and its subtypes, e.g. NewsMediaOrganization)."""
    names = []
    for item in objects:
        types = item.get("@type")
        types = types if isinstance(types, list) else [types]
        if any(isinstance(t, str) and t.endswith(kind) for t in types) and isinstance(name := item.get("name"), str):
            names.append(_collapsed(name).strip(" ,;|-–—"))
    return names


def metadata_titles(tree: HtmlElement) -> list[str]:
    """The titles the page gives machines, most specific first: JSON-LD headline, Open Graph, Twitter, <title>."""
    metas = [
        *(value for item in json_ld(tree) if isinstance(value := item.get("headline"), str)),
        *tree.xpath('//meta[@property="og:title" or @name="og:title"]/@content'),
        *tree.xpath('//meta[@name="twitter:title" or @property="twitter:title"]/@content'),
        *tree.xpath("//head/title//text()"),
    ]
    return [_collapsed(t) for t in metas]


def without_site_name(title: str, site_name: str | None) -> str:
    """`Healing through art | The Daily World` -> `Healing through art`, when the part left out names the site."""
    parts = _TITLE_SEPARATOR.split(title)
    if len(parts) < 2 or not site_name:
        return title
    site = _words(site_name)
    kept = [p for p in parts if _words(p) != site]
    return " - ".join(kept) if kept and len(kept) < len(parts) else title


def publication_date(tree: HtmlElement, url: str | None, title: str | None = None, structured: list[dict] = ()) -> date | None:
    """The day the page says it was first published: the date line under its headline, else htmldate's reading of its
    structured data, meta tags, URL and visible dates (as first published); or None.

    On NAEB's 200 pages htmldate gets 169 days as first published (165 as last changed; extensive_search changes
    neither; deferred_url_extractor 168). The date line read first gets 174 (5 gained, none lost): 2 where htmldate
    took a `last-modified` meta tag mirroring the server's response (the time the page was served, i.e. fetched), 3
    where the page prints its own local day of a UTC timestamp. Of the 26 misses left, the gold day is the page's update
    (its dateModified, published another day) on 10, of another year than any date the page states on 6, a day the
    page does not state on 6, a day east of UTC the page does not use on 2, another date the page states on 2. Reading
    the update the page prints as its date would score 181, but an update is not the publication. On the ScrapingHub
    pages (no gold dates) a date line is read on 86 of 181, never where htmldate finds no date, and differs from
    htmldate's on 6: the day the page prints in its own time zone (or its URL's) where htmldate took the UTC day or an
    older date. Only the first date line counts: a later short line with a date is the story's, not the page's."""
    return shown_date(tree, title, structured) or _htmldate(tree, url)


def _htmldate(tree: HtmlElement, url: str | None) -> date | None:
    found = htmldate.find_date(tree, url=url, original_date=True, extensive_search=False)
    return date.fromisoformat(found) if found else None


def shown_date(tree: HtmlElement, title: str | None, structured: list[dict] = ()) -> date | None:
    """The date of the date line just under the headline <h1> (the first short line holding a date: `Dec. 3, 2025,
    9:30 AM`), unless it is the page's update (a day the page states as modified, not as published) or a numeric date
    that reads both ways (`3/4/2025`)."""
    headline = _headline_element(tree, title)
    if headline is None:
        return None
    for line in headline.xpath(_LINES_UNDER)[:_DATE_LINES]:
        line = _collapsed(line)
        if len(line) > _MAX_DATE_LINE:
            continue
        if (both := _NUMERIC_DATE.search(line)) and max(map(int, both.groups())) <= 12 and both[1] != both[2]:
            return None
        if found := try_date_expr(line, "%Y-%m-%d", False, MIN_DATE, datetime.now()):
            day = date.fromisoformat(found)
            updated = day in _stated_days(tree, structured, "Modified") - _stated_days(tree, structured, "Published")
            return None if updated else day
    return None


def _stated_days(tree: HtmlElement, structured: list[dict], kind: str) -> set[date]:
    """The days the page's JSON-LD (`datePublished`, `dateModified`) and Open Graph article times state, each both in
    the stamp's own offset and in UTC."""
    stamps = [v for item in structured if isinstance(v := item.get(f"date{kind}"), str)]
    stamps += tree.xpath(f'//meta[@property="article:{kind.lower()}_time"]/@content')
    days = set()
    for stamp in stamps:
        try:
            moment = datetime.fromisoformat(stamp.strip())
        except ValueError:
            continue
        days |= {moment.date(), moment.astimezone(UTC).date()} if moment.tzinfo else {moment.date()}
    return days


def _headline_element(tree: HtmlElement, title: str | None) -> HtmlElement | None:
    return next((h for h in tree.iter("h1") if _collapsed(h.text_content()) == title), None)


def declared_language(tree: HtmlElement) -> str | None:
    """The language the page declares (<html lang>, Content-Language, og:locale), as its primary subtag."""
    for value in (
        *tree.xpath("/html/@lang | /html/@xml:lang"),
        *tree.xpath('//meta[translate(@http-equiv, "CONTENLAGU", "contenlagu")="content-language"]/@content'),
        *tree.xpath('//meta[@property="og:locale"]/@content'),
    ):
        if match := _LANGUAGE.match(value.strip()):
            return match.group(1).lower()
    return None


def captions(tree: HtmlElement) -> list[str]:
    """The text of the page's <figcaption> elements, in order, each once."""
    found = (_collapsed(e.text_content()) for e in tree.iter("figcaption"))
    return list(dict.fromkeys(c for c in found if c))


def json_ld(tree: HtmlElement) -> list[dict]:
    """Every object of the page's JSON-LD scripts, nested ones and @graph members included (broken scripts skipped)."""
    objects, stack = [], []
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            stack.append(json.loads(script))
        except ValueError:
            continue
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            objects.append(item)
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
    return objects


def _overlap(candidate: str, title: str) -> float:
    """Share of the candidate's words that the title also has."""
    words = _words(candidate)
    return len(words & _words(title)) / len(words) if words else 0.0


def _letters(text: str) -> str:
    return "".join(_WORD.findall(text.casefold())).replace("_", "")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.translate(_QUOTES).casefold()))


def _collapsed(text: str) -> str:
    return _SPACE.sub(" ", text).strip()

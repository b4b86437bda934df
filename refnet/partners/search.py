"""Name search for "Who can we thank?": forgiving of typos, titles and word order.

How a query runs (partners_search):
1. Normalize the query: fold accents and case, drop punctuation, titles and credentials
   ("Dr.", "MD", "DPT"...), so "Dr. Jon Smith" and "smith john md" both become the words
   {jon, smith}. Nicknames add their formal names (bill -> william).
2. Ask the database's full-text index for candidate entries: any word as a prefix, or any
   word's phonetic keys (Soundex and Metaphone: Smyth and Smiht sound like Smith). SQLite
   uses FTS5 with bm25; PostgreSQL a GIN tsvector index with ts_rank. Both return the
   best CANDIDATES entries.
3. Score each candidate with rapidfuzz against the normalized query: the best of token set
   and token sort ratios and a word-by-word score (a typed word that starts a name word
   counts 90, so partial typing works; "smiht" still scores 80 against "smith").
4. Rank partners by match quality (in bands of 10 points), then by how many referrals
   they sent recently, then by score.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import jellyfish
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from rapidfuzz import fuzz

CANDIDATES = 60
MIN_SCORE = 60

# Words that say what someone is, not who: they never decide a match.
NOISE_WORDS = frozenset(
    """dr dr. doctor mr mrs ms miss prof md do dc dpt pt ot np pa pac rn lpn phd dds dmd od
    facs faaos mph msn fnp aprn lac lmt atc cscs jr sr ii iii iv the and of""".split()
)

NICKNAMES: dict[str, tuple[str, ...]] = {
    "bill": ("william",), "will": ("william",), "billy": ("william",), "liz": ("elizabeth",),
    "beth": ("elizabeth",), "betty": ("elizabeth",), "bob": ("robert",), "rob": ("robert",),
    "bobby": ("robert",), "jim": ("james",), "jimmy": ("james",), "mike": ("michael",),
    "tom": ("thomas",), "tony": ("anthony",), "kate": ("katherine", "catherine"),
    "katie": ("katherine", "catherine"), "cathy": ("catherine",), "dick": ("richard",),
    "rick": ("richard",), "chris": ("christopher", "christine"), "dave": ("david",),
    "dan": ("daniel",), "danny": ("daniel",), "joe": ("joseph",), "steve": ("steven", "stephen"),
    "sue": ("susan",), "peggy": ("margaret",), "maggie": ("margaret",), "jenny": ("jennifer",),
    "jen": ("jennifer",), "alex": ("alexander", "alexandra"), "sam": ("samuel", "samantha"),
    "ed": ("edward",), "ted": ("edward", "theodore"), "nick": ("nicholas",), "matt": ("matthew",),
    "pat": ("patrick", "patricia"), "greg": ("gregory",), "andy": ("andrew",), "ben": ("benjamin",),
    "jon": ("john", "jonathan"), "johnny": ("john",), "jack": ("john",), "larry": ("lawrence",),
    "meg": ("megan", "margaret"), "abby": ("abigail",), "vicky": ("victoria",),
}

_PUNCT = re.compile(r"[^\w\s]+")


def fold(text: str) -> str:
    """Lower case without accents or punctuation: 'Müller-Ortiz, MD' -> 'muller ortiz md'."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    # Apostrophes and dots join ("Gold's" -> golds, "M.D." -> md); other punctuation splits.
    text = text.lower().replace("'", "").replace("\u2019", "").replace(".", "")
    text = text.replace("_", " ")
    return " ".join(_PUNCT.sub(" ", text).split())


def name_words(text: str) -> list[str]:
    """The words that identify a name, without titles and credentials."""
    words = fold(text).split()
    kept = [w for w in words if w not in NOISE_WORDS]
    return kept or words


def sound_keys(words: Iterable[str]) -> list[str]:
    keys: list[str] = []
    for w in words:
        if len(w) < 2 or not w.isalpha():
            continue
        for key in (jellyfish.soundex(w), jellyfish.metaphone(w)):
            key = key.upper()
            if key and key not in keys:
                keys.append(key)
    return keys


def index_fields(label: str) -> tuple[str, str]:
    """(words, sounds) stored on a SearchEntry for this label."""
    words = name_words(label)
    return " ".join(words), " ".join(sound_keys(words))


@dataclass
class Match:
    partner_id: int
    contact_id: int | None
    label: str
    source: str
    score: float
    recent_referrals: int = 0

    @property
    def band(self) -> int:
        return int(self.score // 10)


def _query_terms(query: str) -> tuple[list[str], list[str]]:
    words = name_words(query)
    expanded = list(words)
    for w in words:
        for formal in NICKNAMES.get(w, ()):
            if formal not in expanded:
                expanded.append(formal)
    # Phonetic keys of very short fragments match half the directory: wait for 3 letters.
    return expanded, sound_keys(w for w in expanded if len(w) >= 3)


def _fts5_query(words: list[str], sounds: list[str]) -> str:
    word_terms = " OR ".join(f'"{w}"*' for w in words)
    parts = [f"words : ({word_terms})"]
    if sounds:
        parts.append("sounds : (" + " OR ".join(f'"{s}"' for s in sounds) + ")")
    return " OR ".join(parts)


def _tsquery(words: list[str], sounds: list[str]) -> str:
    terms = [f"{w}:*A" for w in words] + [f"{s.lower()}:B" for s in sounds]
    return " | ".join(terms)


SQLITE_CANDIDATES_SQL = """
    SELECT e.id, e.partner_id, e.contact_id, e.label, e.source, e.words
    FROM partners_searchfts f JOIN partners_searchentry e ON e.id = f.rowid
    WHERE partners_searchfts MATCH %s
    ORDER BY bm25(partners_searchfts, 2.0, 1.0)
    LIMIT %s
"""

# The expression must match the index in partners/migrations/0002 to use it.
PG_DOCUMENT = (
    "(setweight(to_tsvector('simple'::regconfig, e.words), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, e.sounds), 'B'))"
)
PG_CANDIDATES_SQL = f"""
    SELECT e.id, e.partner_id, e.contact_id, e.label, e.source, e.words
    FROM partners_searchentry e
    WHERE {PG_DOCUMENT} @@ to_tsquery('simple'::regconfig, %s)
    ORDER BY ts_rank({PG_DOCUMENT}, to_tsquery('simple'::regconfig, %s)) DESC
    LIMIT %s
"""


def candidate_rows(query: str, limit: int = CANDIDATES) -> list[tuple]:
    """Step 2 alone: the bare full-text query (also the benchmark's floor)."""
    words, sounds = _query_terms(query)
    if not words:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tsq = _tsquery(words, sounds)
            cursor.execute(PG_CANDIDATES_SQL, [tsq, tsq, limit])
        else:
            cursor.execute(SQLITE_CANDIDATES_SQL, [_fts5_query(words, sounds), limit])
        return cursor.fetchall()


def _word_score(query_words: list[str], entry: list[str]) -> float:
    """Each typed word against its best name word: exact 100, a prefix 90, else similarity."""
    total = 0.0
    for q in query_words:
        total += max(
            (100.0 if e == q else 90.0 if e.startswith(q) else fuzz.ratio(q, e)) for e in entry
        )
    return total / len(query_words)


def _score(query_words: list[str], query_text: str, entry_words: str) -> float:
    entry = entry_words.split()
    if not entry:
        return 0.0
    return max(
        fuzz.token_set_ratio(query_text, entry_words),
        fuzz.token_sort_ratio(query_text, entry_words),
        _word_score(query_words, entry),
    )


def partners_search(query: str, *, limit: int = 10) -> list[Match]:
    from refnet.referrals.models import Referral

    query_words = name_words(query)
    if not query_words:
        return []
    query_text = " ".join(query_words)
    best: dict[int, Match] = {}
    for _id, partner_id, contact_id, label, source, words in candidate_rows(query):
        score = _score(query_words, query_text, words)
        if score < MIN_SCORE:
            continue
        current = best.get(partner_id)
        if current is None or score > current.score:
            best[partner_id] = Match(partner_id, contact_id, label, source, score)
    if not best:
        return []
    since = timezone.now() - timedelta(days=settings.REFNET_SEARCH_VOLUME_DAYS)
    volume = dict(
        Referral.objects.filter(source_partner_id__in=list(best), received_at__gte=since)
        .values("source_partner_id")
        .annotate(n=Count("id"))
        .values_list("source_partner_id", "n")
    )
    for match in best.values():
        match.recent_referrals = volume.get(match.partner_id, 0)
    ranked = sorted(
        best.values(), key=lambda m: (-m.band, -m.recent_referrals, -m.score, m.label)
    )
    return ranked[:limit]

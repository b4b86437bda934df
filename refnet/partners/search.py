"""Name search for "Who can we thank?": forgiving of typos, titles and word order.

How a query runs (partners_search):
1. Normalize the query: fold accents and case, drop punctuation, titles and credentials
   ("Dr.", "MD", "DPT"...), so "Dr. Jon Smith" and "smith john md" both become the words
   {jon, smith}. Nicknames add their formal names (bill -> william).
2. Ask the database's full-text index for candidate entries in which every typed word
   matches, as a prefix or by its phonetic keys (Soundex and Metaphone: Smyth and Smiht
   sound like Smith); if that finds few, widen to entries matching any word. SQLite uses
   FTS5 with bm25; PostgreSQL a stored tsvector with a GIN index and ts_rank. Both return
   the best CANDIDATES entries.
3. Score each candidate with rapidfuzz against the normalized query: the better of the
   token sort ratio and a word-by-word score (a typed word that starts a name word
   counts 90, so partial typing works; "smiht" still scores 80 against "smith").
4. Rank partners by match quality (in bands of 10 points), then by how many referrals
   they sent recently, then by score.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import jellyfish
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rapidfuzz import fuzz

from refnet.prepared import prepared_cursor

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


def _query_groups(query: str) -> list[tuple[list[str], list[str]]]:
    """One (words, sounds) group per typed word: the word and its formal names as
    prefixes, and their phonetic keys. A one-letter word (a middle initial, the "c" of
    "PA-C") is left out when longer words are there: as a prefix it matches half the
    directory and decides nothing."""
    words = name_words(query)
    if any(len(w) > 1 for w in words):
        words = [w for w in words if len(w) > 1]
    groups = []
    for w in dict.fromkeys(words):
        variants = [w, *NICKNAMES.get(w, ())]
        # Phonetic keys of very short fragments match too much: wait for 3 letters.
        groups.append((variants, sound_keys(v for v in variants if len(v) >= 3)))
    return groups


def _fts5_query(groups: list[tuple[list[str], list[str]]], *, every_word: bool) -> str:
    parts = []
    for words, sounds in groups:
        terms = [f'words : "{w}"*' for w in words] + [f'sounds : "{s}"' for s in sounds]
        parts.append("(" + " OR ".join(terms) + ")")
    return (" AND " if every_word else " OR ").join(parts)


def _tsquery(groups: list[tuple[list[str], list[str]]], *, every_word: bool) -> str:
    parts = []
    for words, sounds in groups:
        terms = [f"{w}:*A" for w in words] + [f"{s.lower()}:B" for s in sounds]
        parts.append("(" + " | ".join(terms) + ")")
    return (" & " if every_word else " | ").join(parts)


SQLITE_CANDIDATES_SQL = """
    SELECT e.id, e.partner_id, e.contact_id, e.label, e.source, e.words
    FROM partners_searchfts f JOIN partners_searchentry e ON e.id = f.rowid
    WHERE partners_searchfts MATCH %s
    ORDER BY bm25(partners_searchfts, 2.0, 1.0)
    LIMIT %s
"""

# `document` is a stored tsvector column with a GIN index (partners/migrations/0004).
PG_CANDIDATES_SQL = """
    SELECT e.id, e.partner_id, e.contact_id, e.label, e.source, e.words
    FROM partners_searchentry e, to_tsquery('simple'::regconfig, %s) q
    WHERE e.document @@ q
    ORDER BY ts_rank(e.document, q) DESC
    LIMIT %s
"""

# Fewer candidates than this from the every-word query and we widen to any word.
WIDEN_BELOW = 10


def _candidates(groups, *, every_word: bool, limit: int) -> list[tuple]:
    with prepared_cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(PG_CANDIDATES_SQL, [_tsquery(groups, every_word=every_word), limit])
        else:
            cursor.execute(SQLITE_CANDIDATES_SQL,
                           [_fts5_query(groups, every_word=every_word), limit])
        return cursor.fetchall()


def candidate_rows(query: str, limit: int = CANDIDATES) -> list[tuple]:
    """Step 2 alone (also the benchmark's floor): entries matching every typed word (by
    prefix, formal name or sound); if that finds fewer than WIDEN_BELOW, entries matching
    any of them, so that one badly garbled word does not hide the right partner."""
    groups = _query_groups(query)
    if not groups:
        return []
    rows = _candidates(groups, every_word=True, limit=limit)
    if len(rows) < WIDEN_BELOW and len(groups) > 1:
        seen = {row[0] for row in rows}
        rows += [r for r in _candidates(groups, every_word=False, limit=limit)
                 if r[0] not in seen][: limit - len(rows)]
    return rows


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
    # Not token_set_ratio: it scores 100 whenever the entry's words are a subset of the
    # query, so an alias "Dr. Parker" would tie with "Parker Realty" for "Parker Realty".
    return max(fuzz.token_sort_ratio(query_text, entry_words), _word_score(query_words, entry))


def _recent_volume(partner_ids: list[int], since: datetime) -> dict[int, int]:
    """partner id -> how many live referrals they sent since `since`: what
    Referral.objects.filter(source_partner_id__in=..., received_at__gte=since) counts by
    partner, written as SQL (built with the ORM, that query took more CPU to construct
    than the database took to run it, on every keystroke's search)."""
    from refnet.referrals.models import Referral

    q = connection.ops.quote_name
    if connection.vendor == "postgresql":
        # One array parameter: one prepared statement, whatever the number of candidates.
        which, ids = "= ANY(%s::bigint[])", [list(partner_ids)]
    else:
        which, ids = "IN (" + ", ".join(["%s"] * len(partner_ids)) + ")", list(partner_ids)
    sql = (f"SELECT {q('source_partner_id')}, COUNT(*) FROM {q(Referral._meta.db_table)} "
           f"WHERE {q('source_partner_id')} {which} AND {q('received_at')} >= %s "
           f"AND {q('removed_at')} IS NULL GROUP BY {q('source_partner_id')}")
    with prepared_cursor() as cursor:
        cursor.execute(sql, [*ids, connection.ops.adapt_datetimefield_value(since)])
        return dict(cursor.fetchall())


def partners_search(query: str, *, limit: int = 10) -> list[Match]:
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
    volume = _recent_volume(list(best), since)
    for match in best.values():
        match.recent_referrals = volume.get(match.partner_id, 0)
    ranked = sorted(
        best.values(), key=lambda m: (-m.band, -m.recent_referrals, -m.score, m.label)
    )
    return ranked[:limit]

"""Benchmark data in bulk: `refnet seed --partners N --referrals M`.

Everything here is synthetic: names come from the frequency-ordered lists below, drawn
with Zipf-like weights so that they repeat the way real names do (many Smiths, several
John Smiths), phone numbers are 555 numbers and e-mail addresses use example domains.

How a load runs (seed_database):
1. Make sure the practice exists: the demo's locations, service lines and users.
2. Read the highest id of each table, so new rows append after existing ones and rows
   can point at each other by explicit id without a round trip per row.
3. Generate each table's rows lazily as plain tuples from one random.Random(seed).
4. Write them in bulk: on SQLite executemany in large transactions with synchronous=OFF
   and foreign-key checks off (the rows are consistent by construction); on PostgreSQL
   COPY in one transaction, with foreign-key triggers off when we are superuser.
5. The search index: a SearchEntry for every partner, alias and contact. On SQLite the
   three FTS5 triggers are dropped during the load and the index rebuilt once after.
6. Referrals carry their local month and stage times; the monthly rollup's triggers are
   dropped during their load, then recreated and the table rebuilt once
   (reports.rollup.rollup_triggers_dropped).
7. Reset PostgreSQL's id sequences past the explicit ids, then ANALYZE (PostgreSQL: VACUUM
   ANALYZE).
"""

from __future__ import annotations

import importlib
import random
import sys
import time
from bisect import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate, islice
from typing import Any, TextIO

from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

# --- Names: US-frequency order, most common first -------------------------------------

FIRST_NAMES = """
James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara
Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy
Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew
Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa Timothy
Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob
Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela
Justin Emma Scott Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine
Alexander Debra Frank Rachel Patrick Carolyn Raymond Janet Jack Catherine Dennis Maria
Jerry Heather Tyler Diane Aaron Ruth Jose Julie Adam Olivia Nathan Joyce Henry Virginia
Douglas Victoria Zachary Kelly Peter Lauren Kyle Christina Ethan Joan Walter Evelyn Noah
Judith Jeremy Megan Christian Andrea Keith Cheryl Roger Hannah Terry Jacqueline Gerald
Martha Harold Gloria Sean Teresa Austin Ann Carl Sara Arthur Madison Lawrence Frances
Dylan Kathryn Jesse Janice Jordan Jean Bryan Abigail Billy Alice Joe Judy Bruce Sophia
Gabriel Grace Logan Denise Albert Amber Willie Doris Alan Marilyn Juan Danielle Wayne
Beverly Elijah Isabella Randy Theresa Roy Diana Vincent Natalie Ralph Brittany Eugene
Charlotte Russell Marie Bobby Kayla Mason Alexis Philip Lori Louis Priya Wei Ahmed Fatima
Carlos Sofia Luis Camila Miguel Valentina Hiroshi Yuki Kwame Amara Dmitri Elena Rahul
Ananya Jon Jim Bill Kate Liz Mike Tom Chris Dave Steve Jenny Sam Rob
""".split()

LAST_NAMES = """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White
Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres
Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts
Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales
Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos
Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes
Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry
Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons
Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West
Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro
Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry
Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez
Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd
Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols
Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce
Vazquez Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong
Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffman Johnston
Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval Guerrero George
Chapman Rios Estrada Ortega Watkins Greene Nunez Wheeler Valdez Harper Burke Larson
Santiago Maldonado Morrison Franklin Carlson Austin Dominguez Carr Lawson Jacobs Obrien
Lynch Singh Vega Bishop Montgomery Oliver Jensen Harvey Williamson Gilbert Dean Sims
Espinoza Howell Li Wong Reid Hanson Le McCoy Garrett Burton Fuller Wang Weber Welch Rojas
Lucas Marquez Fields Park Yang Little Banks Padilla Day Walsh Bowman Schultz Luna Fowler
Mejia Davidson Acosta Brewer May Holland Juarez Newman Pearson Curtis Cortez Douglas
Schneider Joseph Barrett Navarro Figueroa Keller Avila Wade Molina Stanley Hopkins Campos
Barnett Bates Chambers Caldwell Beck Lambert Miranda Byrd Craig Ayala Lowe Frazier Powers
Neal Leonard Gregory Carrillo Sutton Fleming Rhodes Shelton Schwartz Norris Jennings
Watts Duran Walters Cohen McDaniel Moran Parks Steele Vaughn Becker Holt Deleon Barker
Terry Hale Leon Hail Benson Haynes Horton Miles Lyons Pham Graves Bush Thornton Wolfe
Warner Cabrera McKinney Mann Zimmerman Dawson Lara Fletcher Page McCarthy Love Robles
Cervantes Solis Erickson Reeves Chang Klein Salinas Fuentes Baldwin Daniel Simon Velasquez
Hardy Higgins Aguirre Lin Cummings Chandler Sharp Barber Bowen Ochoa Dennis Robbins Liu
Ramsey Francis Griffith Paul Blair Okafor Mueller Kowalski Nakamura Yamamoto Ivanova
Haddad Mensah Osei Banerjee Iyer Kaur Rossi Bianchi Dubois Novak Horvath Larsen Lindqvist
Murata Tanaka Sato Suzuki Gupta Shah Rao Reddy Khan Ali Hussain Rahman Abdi Mohamed
""".split()

PLACE_WORDS = """
Cherry Creek, Highlands, Lakewood, Aurora, Wash Park, Platte River, Front Range, Mile High,
Riverside, Oak Ridge, Cedar Hills, Pine Valley, Lakeside, Northside, Southgate, Westview,
Eastbrook, Maple Grove, Summit, Red Rocks, Clear Creek, Bear Valley, Sloan Lake, Golden,
Arvada, Englewood, Littleton, Centennial, Parker, Westminster, Wheat Ridge, Thornton,
Broomfield, Highlands Ranch, Green Valley, Stapleton, Capitol Hill, Union Station, LoDo,
Baker, Berkeley, Sunnyside, Congress Park, Belcar, University Park, Hampden, Cherry Hills,
Columbine, Ken Caryl, Evergreen, Castle Rock, Boulder Creek, Willow Springs, Aspen Grove,
Foothills, Canyon, Prairie, Meadowbrook, Stonegate, Brookside, Hillcrest, Fairview,
Greenwood, Mountain View, Sunrise, Twin Lakes, Silver Creek, Elk Ridge, Blue Spruce,
Alpine, Timberline, Ridgeview, Crestview, Parkside, Lincoln, Colfax, Federal, Sheridan
""".replace("\n", " ").split(", ")
PLACE_WORDS = [p.strip() for p in PLACE_WORDS]

STREETS = """
Main St, Colfax Ave, Broadway, Federal Blvd, Colorado Blvd, Alameda Ave, Evans Ave,
University Blvd, Speer Blvd, Wadsworth Blvd, Kipling St, Sheridan Blvd, Hampden Ave,
Belleview Ave, Arapahoe Rd, Quebec St, Havana St, Peoria St, Iliff Ave, Yale Ave, 6th Ave,
17th St, Leetsdale Dr, Jewell Ave, Mississippi Ave, Downing St, York St, Josephine St,
Lowell Blvd, Tennyson St, 32nd Ave, 38th Ave, 44th Ave, Union Blvd, Simms St, Ward Rd
""".replace("\n", " ").split(", ")
STREETS = [s.strip() for s in STREETS]

# (city, zip prefix) around the demo metro, and its centre for coordinates.
CITIES = [
    ("Denver", "802"), ("Aurora", "800"), ("Lakewood", "802"), ("Englewood", "801"),
    ("Littleton", "801"), ("Arvada", "800"), ("Westminster", "800"), ("Centennial", "801"),
    ("Wheat Ridge", "800"), ("Golden", "804"), ("Parker", "801"), ("Thornton", "802"),
]
METRO_CENTRE = (39.7392, -104.9903)

# (taxonomy, credential, what they are called, service line they mostly send to)
CLINICIAN_SPECIALTIES = [
    ("207Q00000X", "MD", "Family Medicine", "Physical therapy"),
    ("207R00000X", "MD", "Internal Medicine", "Pain management"),
    ("207X00000X", "MD", "Orthopaedic Surgery", "Orthopaedics"),
    ("207QS0010X", "DO", "Sports Medicine", "Sports medicine"),
    ("225100000X", "DPT", "Physical Therapy", "Physical therapy"),
    ("111N00000X", "DC", "Chiropractic", "Chiropractic"),
    ("208100000X", "MD", "Physical Medicine & Rehabilitation", "Pain management"),
    ("208000000X", "MD", "Pediatrics", "Sports medicine"),
    ("207V00000X", "MD", "Obstetrics & Gynecology", "Physical therapy"),
    ("363LF0000X", "FNP", "Family Nurse Practitioner", "Physical therapy"),
    ("363A00000X", "PA-C", "Physician Assistant", "Orthopaedics"),
    ("225X00000X", "OT", "Occupational Therapy", "Physical therapy"),
    ("1223G0001X", "DDS", "General Dentistry", "Wellness"),
    ("213E00000X", "DPM", "Podiatry", "Orthopaedics"),
]
CLINICIAN_WEIGHTS = [22, 10, 8, 6, 10, 8, 4, 5, 3, 6, 5, 3, 4, 3]

PRACTICE_SUFFIXES = ["Associates", "Group", "Clinic", "Partners", "Center", "Specialists",
                     "Health", "Care", "PC"]

BUSINESS_NAMES: dict[str, tuple[Sequence[str], Sequence[str]]] = {
    # category: (nouns after a place word, nouns after a family name)
    "gym_trainer": (["Fitness", "CrossFit", "Gym", "Athletic Club", "Strength & Conditioning",
                     "Boxing Club", "Barbell", "Personal Training"],
                    ["Personal Training", "Strength Co.", "Fitness"]),
    "school_teacher": (["Elementary School", "Middle School", "High School Athletics",
                        "Academy", "Montessori", "Preparatory School", "Dance Academy"],
                       ["Learning Center", "Tutoring"]),
    "shop": (["Running Co.", "Bike Works", "Shoe Company", "Outfitters", "Pharmacy",
              "Nutrition", "Ski & Board", "Hardware"], ["Hardware", "Shoes", "Market"]),
    "realtor": (["Realty", "Real Estate Group", "Properties", "Homes"],
                ["Realty", "Home Team", "Real Estate"]),
    "chamber": (["Chamber of Commerce", "Business Alliance", "Rotary Club", "Lions Club",
                 "Business Network"], ["& Associates Networking"]),
    "sports_yoga": (["Yoga", "Pilates Studio", "Youth Soccer Club", "Running Club",
                     "Pickleball Club", "Climbing Gym", "Martial Arts", "Swim Team"],
                    ["Yoga", "Martial Arts", "Tennis Academy"]),
    "other": (["Senior Center", "Community Church", "Public Library", "Coffee House",
               "Salon & Spa", "Veterinary Hospital", "Insurance Agency"],
              ["Insurance Agency", "Salon", "Catering"]),
}
COMMUNITY_CATEGORIES = ["chamber", "school_teacher", "sports_yoga", "other"]

CONTACT_TITLES = ["Office manager", "Referral coordinator", "Front desk lead", "Practice "
                  "administrator", "Owner", "Head trainer", "Athletic director", "Director",
                  "Program coordinator", "Medical assistant"]

MARKETING_CHANNELS = ["Google search", "Website", "Instagram", "Facebook", "Yelp", "Nextdoor",
                      "Google Maps", "Radio ad", "Billboard", "Newspaper ad", "Health fair",
                      "Podcast ad", "TikTok", "YouTube", "Email newsletter", "Mailer"]

# Typed at the desk when nobody could be matched: resolvable only by a person.
UNRESOLVED_SOURCE_TEXTS = [
    "dr smyth", "the trainer at golds gym", "Jon Smith's office", "my neighbor",
    "a friend from church", "the chiropractor on colfax", "my PT", "saw a sign",
    "someone at work", "dr. johnsen", "yoga teacher", "the school nurse", "googled it",
    "my daughter's coach", "dr garsia", "the ortho guy", "a realtor", "insurance website",
]

MONTH_FACTORS = {1: 1.35, 2: 1.1, 3: 1.05, 4: 1.0, 5: 0.95, 6: 0.8, 7: 0.75, 8: 0.85,
                 9: 1.3, 10: 1.1, 11: 0.95, 12: 0.7}
WEEKDAY_FACTORS = (1.15, 1.1, 1.05, 1.05, 1.0, 0.25, 0.1)

ICD10 = [
    ("M54.50", "Low back pain"), ("M54.2", "Neck pain"), ("M25.561", "Right knee pain"),
    ("M25.562", "Left knee pain"), ("M75.101", "Rotator cuff tear, right shoulder"),
    ("S83.511A", "ACL sprain, right knee"), ("M17.11", "Osteoarthritis, right knee"),
    ("M79.7", "Fibromyalgia"), ("G89.29", "Chronic pain"), ("S93.401A", "Ankle sprain"),
    ("M72.2", "Plantar fasciitis"), ("M77.12", "Lateral epicondylitis, left elbow"),
    ("M54.16", "Lumbar radiculopathy"), ("S16.1XXA", "Neck strain after car accident"),
    ("Z96.651", "Rehab after right knee replacement"), ("", "Wellness visit"),
]


def zipf_cum_weights(n: int, offset: float = 8.0) -> list[float]:
    """Cumulative weights 1/(rank+offset): the head repeats often, the tail still appears."""
    return list(accumulate(1.0 / (i + offset) for i in range(n)))


FIRST_CUM = zipf_cum_weights(len(FIRST_NAMES))
LAST_CUM = zipf_cum_weights(len(LAST_NAMES))


def pick(items: Sequence[Any], cum_weights: Sequence[float], roll: float) -> Any:
    """random.choices for one item, without its per-call overhead; roll is in [0, 1)."""
    return items[min(bisect(cum_weights, roll * cum_weights[-1]), len(items) - 1)]


def person_name(rng: random.Random) -> tuple[str, str]:
    return (pick(FIRST_NAMES, FIRST_CUM, rng.random()),
            pick(LAST_NAMES, LAST_CUM, rng.random()))


def npi_check_digit(body: str) -> str:
    """The Luhn digit over '80840' + the first nine digits (see partners.models.validate_npi)."""
    total = 0
    for i, ch in enumerate(reversed("80840" + body)):
        d = int(ch)
        if i % 2 == 0:  # doubled: these sit at odd positions once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def make_npi(rng: random.Random) -> str:
    body = str(rng.choice("12")) + "".join(str(rng.randrange(10)) for _ in range(8))
    return body + npi_check_digit(body)


def clinician_name(rng: random.Random, credential: str) -> str:
    first, last = person_name(rng)
    form = rng.random()
    if form < 0.55:
        return f"{first} {last}, {credential}"
    if form < 0.8:
        return f"Dr. {first} {last}"
    if form < 0.9:
        return f"{first} {rng.choice('ABCDEFGHJKLMNPRSTW')}. {last}, {credential}"
    return f"{first} {last}"


def practice_name(rng: random.Random, specialty: str) -> str:
    form = rng.random()
    if form < 0.5:
        return f"{rng.choice(PLACE_WORDS)} {specialty} {rng.choice(PRACTICE_SUFFIXES)}"
    if form < 0.8:
        return f"{person_name(rng)[1]} {specialty}"
    return f"{person_name(rng)[1]} & {person_name(rng)[1]} {specialty}"


def business_name(rng: random.Random, category: str) -> str:
    by_place, by_family = BUSINESS_NAMES[category]
    if rng.random() < 0.7:
        return f"{rng.choice(PLACE_WORDS)} {rng.choice(by_place)}"
    last = person_name(rng)[1]
    return f"{last}{'s' if rng.random() < 0.3 else ''} {rng.choice(by_family)}"


def phone(rng: random.Random) -> str:
    return f"({rng.choice(['303', '720'])}) 555-{rng.randrange(10000):04d}"


def address(rng: random.Random) -> tuple[str, str, str, str, str, str]:
    """(address_line, city, state, zip, latitude, longitude) somewhere in the metro."""
    city, zip_prefix = rng.choice(CITIES)
    lat = METRO_CENTRE[0] + rng.uniform(-0.22, 0.22)
    lng = METRO_CENTRE[1] + rng.uniform(-0.3, 0.3)
    return (f"{rng.randrange(100, 9999)} {rng.choice(STREETS)}", city, "CO",
            f"{zip_prefix}{rng.randrange(10, 99)}", f"{lat:.6f}", f"{lng:.6f}")


def slug(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())[:30] or "x"


# --- The search index during bulk loads ------------------------------------------------

def _search_migration() -> Any:
    # A module name starting with a digit cannot be imported with `import`.
    return importlib.import_module("refnet.partners.migrations.0003_search_index")


@contextmanager
def search_index_bulk_load() -> Iterator[None]:
    """Load partners_searchentry without per-row FTS5 work: drop the triggers, and on exit
    rebuild the index once and recreate the triggers exactly as migration 0003 wrote them.

    No-op on PostgreSQL, whose GIN index is maintained by the table itself. Not for use
    while other processes write search entries: their rows would miss the index.
    """
    if connection.vendor != "sqlite":
        yield
        return
    migration = _search_migration()
    drops = [s for s in migration.SQLITE_DOWN if s.lstrip().upper().startswith("DROP TRIGGER")]
    creates = [s for s in migration.SQLITE_UP if s.lstrip().upper().startswith("CREATE TRIGGER")]
    with connection.cursor() as cursor:
        for sql in drops:
            cursor.execute(sql)
    try:
        yield
    finally:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO partners_searchfts(partners_searchfts) VALUES('rebuild')"
            )
            for sql in creates:
                cursor.execute(sql)


# --- Bulk writing ----------------------------------------------------------------------

class Progress:
    """Rows written and rows per second, at most once a second, on one stderr line."""

    def __init__(self, label: str, total: int, stream: TextIO | None) -> None:
        self.label, self.total, self.stream = label, total, stream
        self.done = 0
        self.started = self.last = time.perf_counter()
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())

    def add(self, n: int) -> None:
        self.done += n
        now = time.perf_counter()
        if self.stream is not None and now - self.last >= (1.0 if self.tty else 10.0):
            self.last = now
            self._print("\r" if self.tty else "", "" if self.tty else "\n")

    def _print(self, lead: str, end: str = "") -> None:
        assert self.stream is not None
        rate = self.done / max(time.perf_counter() - self.started, 1e-9)
        self.stream.write(f"{lead}  {self.label}: {self.done:,}/{self.total:,} rows "
                          f"({rate:,.0f} rows/s){end}")
        self.stream.flush()

    def finish(self) -> float:
        elapsed = time.perf_counter() - self.started
        if self.stream is not None:
            self._print("\r" if self.tty else "", f" in {elapsed:.1f} s\n")
        return elapsed


def _plain(value: Any) -> Any:
    """A Python default as SQLite and COPY both accept it."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return stamp_for_vendor()(value)
    if isinstance(value, date):
        return value.isoformat()
    if value is not None and not isinstance(value, int | float | str):
        return str(value)
    return value


class TableWriter:
    """Insert plain tuples into a model's table, in the order of `fields`.

    Concrete fields not named get their model default on every row (auto_now fields get
    the load time), so a column someone adds later with a default does not break seeding.
    Values must already be in a form both databases accept: ints, strs, None, and
    timestamps as 'YYYY-MM-DD HH:MM:SS+00:00' text (see `ts`).
    """

    def __init__(self, model: type[models.Model], fields: Sequence[str], now_text: str) -> None:
        meta = model._meta
        by_name: dict[str, models.Field] = {}
        for f in meta.concrete_fields:
            by_name[f.name] = by_name[f.attname] = f
        named = [by_name[n] for n in fields]
        # An auto id left out is assigned by the database.
        extra = [f for f in meta.concrete_fields if f not in named
                 and not (f.primary_key and isinstance(f, models.AutoField))]
        self.extra_values: tuple = tuple(
            now_text if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
            else _plain(f.get_default()) for f in extra
        )
        self.table = meta.db_table
        self.columns = [f.column for f in named + extra]
        self.model = model

    def write(self, rows: Iterable[tuple], progress: Progress) -> int:
        extra = self.extra_values
        full = (row + extra for row in rows) if extra else rows
        cols = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        table = connection.ops.quote_name(self.table)
        count = 0
        if connection.vendor == "postgresql":
            with connection.connection.cursor() as cursor:
                with cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in full:
                        copy.write_row(row)
                        count += 1
                        if not count % 20000:
                            progress.add(20000)
            progress.add(count % 20000)
            return count
        sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(self.columns))})"
        raw = connection.connection
        iterator = iter(full)
        while True:
            # One transaction per ~200k rows keeps the WAL file from growing without bound.
            with transaction.atomic():
                written = 0
                while written < 200_000:
                    batch = list(islice(iterator, 20_000))
                    if not batch:
                        break
                    raw.executemany(sql, batch)
                    written += len(batch)
                    progress.add(len(batch))
            count += written
            if written < 200_000:
                return count


@contextmanager
def bulk_load_session() -> Iterator[None]:
    """Connection settings for a fast, consistent-by-construction load."""
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        # These pragmas cannot change inside a transaction (a test's, say): then skip them.
        tune = not connection.in_atomic_block
        if tune:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA foreign_keys=OFF")
                cursor.execute("PRAGMA synchronous=OFF")
                cursor.execute("PRAGMA cache_size=-524288")  # 512 MiB while loading
                cursor.execute("PRAGMA temp_store=MEMORY")
        try:
            yield
        finally:
            if tune:
                with connection.cursor() as cursor:
                    cursor.execute("PRAGMA synchronous=NORMAL")
                    cursor.execute("PRAGMA cache_size=-2000")
                    cursor.execute("PRAGMA foreign_keys=ON")
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('is_superuser') = 'on'")
        if cursor.fetchone()[0]:
            # Skips the per-row foreign-key triggers (which would queue one deferred check
            # per row until commit); the rows we write are consistent by construction.
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        yield


@contextmanager
def secondary_indexes_dropped(model: type[models.Model], adding: int, existing: int
                              ) -> Iterator[None]:
    """Drop a table's secondary indexes while `adding` rows load, then build them again
    from their own definitions: building an index once is far cheaper than updating it
    per row. Only worth it when the load is large next to what the table holds already.
    Primary keys and indexes behind constraints stay."""
    table = model._meta.db_table
    if adding < 50_000 or adding < existing:
        yield
        return
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                           "AND tbl_name = %s AND sql IS NOT NULL", [table])
        else:
            cursor.execute(
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid "
                "JOIN pg_class t ON t.oid = x.indrelid "
                "WHERE t.relname = %s AND t.relnamespace = current_schema()::regnamespace "
                "AND NOT x.indisprimary AND NOT EXISTS ("
                "  SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)", [table])
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for _name, definition in indexes:
                cursor.execute(definition)


def ts(moment: datetime) -> str:
    """A UTC timestamp as text that SQLite (read back by Django) and COPY both understand."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")


def _ts_sqlite(moment: datetime) -> str:
    # Django stores SQLite datetimes as naive UTC text; keep that exact shape.
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def stamp_for_vendor() -> Callable[[datetime], str]:
    return _ts_sqlite if connection.vendor == "sqlite" else ts


class EpochText:
    """Seconds since the epoch as the timestamp text of `ts`/`_ts_sqlite`, fast: the date
    part is cached per day (millions of rows share a few hundred days)."""

    def __init__(self) -> None:
        self.suffix = "" if connection.vendor == "sqlite" else "+00:00"
        self.days: dict[int, str] = {}

    def __call__(self, seconds: int) -> str:
        day, rest = divmod(seconds, 86400)
        prefix = self.days.get(day)
        if prefix is None:
            prefix = self.days[day] = time.strftime("%Y-%m-%d ", time.gmtime(day * 86400))
        hours, rest = divmod(rest, 3600)
        minutes, secs = divmod(rest, 60)
        return f"{prefix}{hours:02d}:{minutes:02d}:{secs:02d}{self.suffix}"


# --- The load --------------------------------------------------------------------------

@dataclass
class SeedReport:
    partners: int = 0
    contacts: int = 0
    aliases: int = 0
    search_entries: int = 0
    patients: int = 0
    referrals: int = 0
    events: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return (self.partners + self.contacts + self.aliases + self.search_entries
                + self.patients + self.referrals + self.events)


PATIENT_FIELDS = ["id", "mrn", "first_name", "last_name", "birth_date", "sex", "phone",
                  "phone_digits", "email", "address_line", "city", "state", "zip_code",
                  "last_name_key", "first_name_key", "may_thank_referrer",
                  "may_thank_referrer_at", "sms_consent", "federal_program_beneficiary",
                  "created_at"]
PARTNER_FIELDS = ["id", "kind", "category", "name", "organization_id", "patient_id", "npi",
                  "taxonomy_code", "phone", "email", "fax", "website", "address_line", "city",
                  "state", "zip_code", "latitude", "longitude", "stage", "owner_id",
                  "preferred_channel", "cadence_days", "do_not_contact", "created_at"]
CONTACT_FIELDS = ["id", "partner_id", "name", "title", "phone", "email", "is_primary"]
ALIAS_FIELDS = ["id", "partner_id", "name"]
SEARCH_FIELDS = ["id", "partner_id", "contact_id", "source", "label", "words", "sounds"]
REFERRAL_FIELDS = ["id", "patient_id", "source_partner_id", "source_contact_id",
                   "source_status", "source_text", "location_id", "service_line_id", "channel",
                   "received_at", "status", "status_changed_at", "outcome", "assigned_to_id",
                   "reason", "diagnosis", "priority", "created_by_id", "created_at",
                   "received_month", "contacted_at", "scheduled_at", "seen_at", "closed_at"]
EVENT_FIELDS = ["referral_id", "at", "by_id", "from_status", "to_status", "note"]

KIND_WEIGHTS = [("clinician", 34), ("medical_practice", 10), ("local_business", 25),
                ("community_org", 8), ("patient_referrer", 22), ("marketing_channel", 1)]
# Relative referral volume by kind; each partner also draws a heavy-tailed factor.
KIND_VOLUME = {"clinician": 1.0, "medical_practice": 2.0, "local_business": 0.6,
               "community_org": 0.5, "patient_referrer": 0.15, "marketing_channel": 40.0}


def _max_id(model: type[models.Model]) -> int:
    return model.objects.aggregate(m=Max("pk"))["m"] or 0


def seed_database(*, partners: int, referrals: int, seed: int = 1,
                  patients: int | None = None, stream: TextIO | None = sys.stderr,
                  now: datetime | None = None) -> SeedReport:
    """Append `partners` partners (with contacts, aliases and search entries), `patients`
    patients (default referrals // 2) and `referrals` referrals over the last 24 months."""
    from refnet.partners.models import Contact, Partner, PartnerAlias, SearchEntry
    from refnet.referrals.models import Patient, Referral, ReferralEvent
    from refnet.reports.rollup import rollup_triggers_dropped

    from .demo import ensure_practice

    started = time.perf_counter()
    report = SeedReport()
    now = (now or timezone.now()).replace(microsecond=0)
    stamp = stamp_for_vendor()
    now_text = stamp(now)
    patients = referrals // 2 if patients is None else patients
    if referrals and not patients:
        patients = 1

    practice = ensure_practice()
    context = LoadContext(
        rng=random.Random(),  # seeded below, once the start point is known
        now=now, stamp=stamp,
        location_ids=[loc.pk for loc in practice.locations],
        line_ids={line.name: line.pk for line in practice.service_lines},
        user_ids={role: user.pk for role, user in practice.users.items()},
        base={m.__name__: _max_id(m) for m in (Partner, Contact, PartnerAlias, SearchEntry,
                                                Patient, Referral)},
        patients=patients,
    )
    # Appending twice with one --seed must not repeat rows: the start point is in the seed.
    context.rng.seed(f"refnet-seed:{seed}:{context.base['Partner']}:{context.base['Referral']}")
    plan = _plan_partners(context, partners)
    if not plan.names and referrals:
        # Referrals only: spread them over the partners already there.
        plan.pool_ids = list(Partner.objects.live().values_list("pk", flat=True))
        plan.pool_cum = list(accumulate(1.0 for _ in plan.pool_ids))

    def run(label: str, model: type[models.Model], fields: Sequence[str],
            rows: Iterable[tuple], total: int) -> int:
        progress = Progress(label, total, stream)
        with secondary_indexes_dropped(model, total, context.base[model.__name__]):
            written = TableWriter(model, fields, now_text).write(rows, progress)
        report.phases[label] = progress.finish()  # index builds included
        return written

    with bulk_load_session():
        report.patients = run("patients", Patient, PATIENT_FIELDS,
                              _patient_rows(context, plan), patients)
        report.partners = run("partners", Partner, PARTNER_FIELDS,
                              _partner_rows(context, plan), partners)
        report.contacts = run("contacts", Contact, CONTACT_FIELDS,
                              _contact_rows(context, plan), len(plan.contacts))
        base_alias = context.base["PartnerAlias"]
        report.aliases = run(
            "aliases", PartnerAlias, ALIAS_FIELDS,
            ((base_alias + i + 1, pid, name) for i, (pid, name) in enumerate(plan.aliases)),
            len(plan.aliases))
        with search_index_bulk_load():
            report.search_entries = run(
                "search entries", SearchEntry, SEARCH_FIELDS,
                _search_rows(plan, context.base["SearchEntry"]),
                len(plan.names) + len(plan.aliases) + len(plan.contacts))
        # The rollup's per-row triggers would slow the load several times over: off
        # during it, then the table is rebuilt once from what was loaded.
        with rollup_triggers_dropped():
            report.referrals = run("referrals", Referral, REFERRAL_FIELDS,
                                   _referral_rows(context, plan, referrals), referrals)
            rollup_started = time.perf_counter()
        report.phases["rollup"] = time.perf_counter() - rollup_started
        progress = Progress("referral events", 0, stream)
        with secondary_indexes_dropped(ReferralEvent, 2 * referrals,
                                       2 * context.base["Referral"]):
            report.events = _insert_events(context.base["Referral"], now_text)
        progress.total = report.events
        progress.add(report.events)
        report.phases["referral events"] = progress.finish()
        _reset_sequences([Partner, Contact, PartnerAlias, SearchEntry, Patient, Referral,
                          ReferralEvent])
    analysed = time.perf_counter()
    _analyze()
    report.phases["analyze"] = time.perf_counter() - analysed
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class LoadContext:
    rng: random.Random
    now: datetime
    stamp: Callable[[datetime], str]
    location_ids: list[int]
    line_ids: dict[str, int]
    user_ids: dict[str, int]
    base: dict[str, int]  # model name -> highest id before this load
    patients: int


@dataclass
class PartnerPlan:
    """What later tables need to know about the partners being generated."""

    first_partner_id: int
    kinds: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    # Index in CLINICIAN_SPECIALTIES for clinicians and practices; else the category.
    specialty: list[int] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    patient_of: dict[int, int] = field(default_factory=dict)  # partner index -> patient id
    patient_names: dict[int, tuple[str, str]] = field(default_factory=dict)  # by patient no.
    contacts: list[tuple[int, int, str]] = field(default_factory=list)  # (id, partner id, name)
    first_contact: dict[int, int] = field(default_factory=dict)  # partner id -> contact id
    aliases: list[tuple[int, str]] = field(default_factory=list)
    # Who sends referrals, and how many: partner ids with cumulative weights.
    pool_ids: list[int] = field(default_factory=list)
    pool_cum: list[float] = field(default_factory=list)


def _plan_partners(context: LoadContext, n: int) -> PartnerPlan:
    rng, base = context.rng, context.base
    plan = PartnerPlan(first_partner_id=base["Partner"] + 1)
    kinds, weights = zip(*KIND_WEIGHTS, strict=True)
    plan.kinds = rng.choices(kinds, weights=weights, k=n)
    if n >= len(kinds):  # every kind at least once, whatever the draw
        for i, kind in enumerate(kinds):
            plan.kinds[i * (n // len(kinds))] = kind
    if not context.patients:
        plan.kinds = ["local_business" if k == "patient_referrer" else k for k in plan.kinds]
    contact_id = base["Contact"]
    channel_no = business_no = community_no = 0
    for i, kind in enumerate(plan.kinds):
        pid = plan.first_partner_id + i
        spec, category = -1, ""
        if kind == "clinician":
            spec = rng.choices(range(len(CLINICIAN_SPECIALTIES)), CLINICIAN_WEIGHTS)[0]
            name = clinician_name(rng, CLINICIAN_SPECIALTIES[spec][1])
        elif kind == "medical_practice":
            spec = rng.choices(range(len(CLINICIAN_SPECIALTIES)), CLINICIAN_WEIGHTS)[0]
            name = practice_name(rng, CLINICIAN_SPECIALTIES[spec][2])
        elif kind == "local_business":
            # Round-robin first so that every category appears even in a small seed.
            pool = list(BUSINESS_NAMES)
            category = pool[business_no] if business_no < len(pool) else rng.choice(pool)
            business_no += 1
            name = business_name(rng, category)
        elif kind == "community_org":
            pool = COMMUNITY_CATEGORIES
            category = pool[community_no] if community_no < len(pool) else rng.choice(pool)
            community_no += 1
            name = business_name(rng, category)
        elif kind == "patient_referrer":
            number = rng.randrange(context.patients)
            plan.patient_of[i] = base["Patient"] + number + 1
            first, last = plan.patient_names.setdefault(number, person_name(rng))
            name = f"{first} {last}"
        else:
            channel = MARKETING_CHANNELS[channel_no % len(MARKETING_CHANNELS)]
            round_no = channel_no // len(MARKETING_CHANNELS)
            name = channel if round_no == 0 and base["Partner"] == 0 else (
                f"{channel} campaign {base['Partner'] + round_no + 1}")
            channel_no += 1
        plan.names.append(name)
        plan.specialty.append(spec)
        plan.categories.append(category)
        # Contacts for ~30% of partners, mostly organizations.
        chance = {"medical_practice": 0.8, "local_business": 0.75, "community_org": 0.75,
                  "clinician": 0.08}.get(kind, 0.0)
        if rng.random() < chance:
            for _ in range(1 + (rng.random() < 0.25)):
                contact_id += 1
                first, last = person_name(rng)
                plan.contacts.append((contact_id, pid, f"{first} {last}"))
                plan.first_contact.setdefault(pid, contact_id)
        if kind != "marketing_channel" and rng.random() < 0.02:
            plan.aliases.append((pid, _alias_for(rng, name, kind)))
        # Referral volume: heavy-tailed; about a third (the prospects) send nothing.
        if kind == "marketing_channel" or rng.random() >= 0.3:
            plan.pool_ids.append(pid)
            plan.pool_cum.append((plan.pool_cum[-1] if plan.pool_cum else 0.0)
                                 + KIND_VOLUME[kind] * rng.paretovariate(1.3))
    return plan


def _alias_for(rng: random.Random, name: str, kind: str) -> str:
    words = name.replace(",", "").split()
    if kind == "clinician":
        core = [w for w in words if w != "Dr." and not w.isupper() and not w.endswith(".")]
        if len(core) >= 2:
            return f"Dr. {core[-1]}" if rng.random() < 0.5 else f"{core[-1]}, {core[0]}"
    initials = "".join(w[0] for w in words if w[0].isalpha()).upper()
    return initials if len(initials) >= 2 else f"The {name}"


def _patient_rows(context: LoadContext, plan: PartnerPlan) -> Iterator[tuple]:
    from refnet.partners.search import fold

    rng, base_id = context.rng, context.base["Patient"]
    r = rng.random
    text = EpochText()
    keys: dict[str, tuple[str, str]] = {}  # name -> (folded, slug)
    earliest = int(context.now.timestamp()) - 760 * 86400
    streets, cities = STREETS, [c for c, _ in CITIES]
    for i in range(context.patients):
        first, last = plan.patient_names.get(i) or person_name(rng)
        first_key, first_slug = keys.get(first) or keys.setdefault(first, (fold(first),
                                                                            slug(first)))
        last_key, last_slug = keys.get(last) or keys.setdefault(last, (fold(last), slug(last)))
        area = "303" if r() < 0.6 else "720"
        line = f"{int(r() * 10000):04d}"
        may_thank = r() < 0.4
        created = text(earliest + int(r() * 760 * 86400))
        pk = base_id + i + 1
        yield (
            pk, f"S{pk:08d}", first, last,
            f"{1935 + int(r() * 80)}-{1 + int(r() * 12):02d}-{1 + int(r() * 28):02d}",
            "F" if r() < 0.52 else "M" if r() < 0.98 else "X",
            f"({area}) 555-{line}", f"{area}555{line}",
            f"{first_slug}.{last_slug}{pk % 97}@example.com" if r() < 0.7 else "",
            f"{100 + int(r() * 9900)} {streets[int(r() * len(streets))]}",
            cities[int(r() * len(cities))], "CO", f"80{100 + int(r() * 200)}",
            last_key, first_key, int(may_thank), created if may_thank else None,
            int(r() < 0.5), int(r() < 0.2), created,
        )


def _partner_rows(context: LoadContext, plan: PartnerPlan) -> Iterator[tuple]:
    rng, now, stamp = context.rng, context.now, context.stamp
    owners = [context.user_ids[r] for r in ("outreach", "outreach", "manager", "coordinator")]
    practices = [plan.first_partner_id + i for i, k in enumerate(plan.kinds)
                 if k == "medical_practice"]
    senders = set(plan.pool_ids)
    stages = ["contacted", "engaged", "active", "active", "active", "active", "dormant"]
    npis: set[str] = set()
    for i, kind in enumerate(plan.kinds):
        pid = plan.first_partner_id + i
        name = plan.names[i]
        npi = taxonomy = fax = website = email = ""
        org_id: int | None = None
        if kind in ("clinician", "medical_practice"):
            npi = make_npi(rng)
            while npi in npis:
                npi = make_npi(rng)
            npis.add(npi)
            taxonomy = CLINICIAN_SPECIALTIES[plan.specialty[i]][0] if kind == "clinician" else (
                "193400000X" if rng.random() < 0.7 else "193200000X")
            fax = phone(rng)
            if kind == "clinician" and practices and rng.random() < 0.6:
                org_id = rng.choice(practices)
        if kind in ("medical_practice", "local_business", "community_org"):
            website = f"https://www.{slug(name)}.example.com"
        if kind != "marketing_channel":
            email = f"{slug(name)}{pid % 1000}@example.org"
        line, city, state, zip_code, lat, lng = (
            address(rng) if kind != "marketing_channel" else ("", "", "", "", None, None))
        stage = (rng.choice(stages) if pid in senders
                 else "declined" if rng.random() < 0.1 else "prospect")
        channel = (rng.choice(["fax", "fax", "portal", "letter", "email"])
                   if kind in ("clinician", "medical_practice")
                   else rng.choice(["email", "email", "phone", "sms"]))
        yield (
            pid, kind, plan.categories[i], name, org_id, plan.patient_of.get(i), npi, taxonomy,
            phone(rng) if kind != "marketing_channel" else "", email, fax, website, line, city,
            state, zip_code, lat, lng, stage, rng.choice(owners), channel,
            rng.choice([30, 60, 90, 90, 180]), int(rng.random() < 0.03),
            stamp(now - timedelta(days=rng.randrange(760, 1500))),
        )


def _contact_rows(context: LoadContext, plan: PartnerPlan) -> Iterator[tuple]:
    rng = context.rng
    for contact_id, pid, name in plan.contacts:
        yield (contact_id, pid, name, rng.choice(CONTACT_TITLES), phone(rng),
               f"{slug(name)}{contact_id % 100}@example.org",
               int(plan.first_contact.get(pid) == contact_id))


def _search_rows(plan: PartnerPlan, base_id: int) -> Iterator[tuple]:
    from refnet.partners.search import index_fields

    cache: dict[str, tuple[str, str]] = {}

    def fields_of(label: str) -> tuple[str, str]:
        hit = cache.get(label)
        if hit is None:
            hit = cache[label] = index_fields(label)
        return hit

    entry_id = base_id
    for i, name in enumerate(plan.names):
        entry_id += 1
        yield (entry_id, plan.first_partner_id + i, None, "name", name, *fields_of(name))
    for pid, name in plan.aliases:
        entry_id += 1
        yield (entry_id, pid, None, "alias", name, *fields_of(name))
    for contact_id, pid, name in plan.contacts:
        entry_id += 1
        yield (entry_id, pid, contact_id, "contact", name, *fields_of(name))


def referral_days_ago(rng: random.Random, count: int, today: date, days: int = 730
                      ) -> list[int]:
    """How many days ago each of `count` referrals arrived, oldest first: seasonal (busy in
    January and September, quiet in summer and December), mostly on weekdays, growing."""
    dates = [today - timedelta(days=d) for d in range(days, -1, -1)]
    weights = [MONTH_FACTORS[d.month] * WEEKDAY_FACTORS[d.weekday()]
               * (0.85 + 0.3 * i / len(dates)) for i, d in enumerate(dates)]
    picked = rng.choices(range(len(dates)), weights=weights, k=count)
    picked.sort()
    return [days - p for p in picked]


# (status, outcome, weight) for referrals older than 60 days, then for recent ones.
OLD_FLOW = [
    ("closed_won", "became_patient", 56), ("closed_lost", "no_response", 12),
    ("closed_lost", "chose_elsewhere", 8), ("closed_lost", "insurance", 7),
    ("closed_lost", "no_show", 6), ("closed_lost", "not_a_candidate", 4),
    ("closed_lost", "other", 2), ("seen", "", 2), ("contacted", "", 2), ("scheduled", "", 1),
]
RECENT_FLOW = [("received", "", 25), ("contacted", "", 25), ("scheduled", "", 25),
               ("seen", "", 10), ("closed_won", "became_patient", 10),
               ("closed_lost", "no_response", 5)]


def _referral_rows(context: LoadContext, plan: PartnerPlan, count: int) -> Iterator[tuple]:
    if not count:
        return
    rng, now = context.rng, context.now
    r = rng.random
    text = EpochText()
    now_s = int(now.timestamp())
    midnight = int(timezone.localtime(now).replace(hour=0, minute=0, second=0).timestamp())
    days_ago = referral_days_ago(rng, count, timezone.localdate(now))
    if plan.pool_ids:
        sources = rng.choices(plan.pool_ids, cum_weights=plan.pool_cum, k=count)
    else:
        sources = [None] * count
    first_pid, kinds, specialty = plan.first_partner_id, plan.kinds, plan.specialty
    first_contact = plan.first_contact
    spec_lines = [context.line_ids.get(s[3]) for s in CLINICIAN_SPECIALTIES]
    lines = list(context.line_ids.values())
    old_flow = [(s, o) for s, o, _ in OLD_FLOW]
    old_cum = list(accumulate(w for *_, w in OLD_FLOW))
    new_flow = [(s, o) for s, o, _ in RECENT_FLOW]
    new_cum = list(accumulate(w for *_, w in RECENT_FLOW))
    front, coordinator = context.user_ids["front_desk"], context.user_ids["coordinator"]
    locations = context.location_ids
    patient_base, patients = context.base["Patient"], max(context.patients, 1)
    referral_base = context.base["Referral"]
    clinical = ("fax", "fax", "fhir", "hl7v2", "phone", "email")
    said = UNRESOLVED_SOURCE_TEXTS
    month_of = LocalMonth()
    for i, ago in enumerate(days_ago):
        received = midnight - ago * 86400 + 8 * 3600 + int(r() * 10 * 3600)
        if received > now_s:
            received = now_s - 60 - int(r() * 10 * 3600)
        partner_id = sources[i]
        contact_id = None
        source_text = ""
        if partner_id is None or r() < 0.02:
            partner_id = None
            source_text = said[int(r() * len(said))]
        elif r() < 0.3:
            contact_id = first_contact.get(partner_id)
        if ago > 60:
            status, outcome = pick(old_flow, old_cum, r())
        else:
            status, outcome = pick(new_flow, new_cum, r())
        changed = received if status == "received" else min(
            received + int(r() * 40 * 86400), now_s)
        index = partner_id - first_pid if partner_id is not None else -1
        kind = kinds[index] if 0 <= index < len(kinds) else ""
        spec = specialty[index] if kind else -1
        line = spec_lines[spec] if spec >= 0 and r() < 0.7 else None
        if line is None:
            line = lines[int(r() * len(lines))]
        if kind == "clinician" or kind == "medical_practice":
            channel = clinical[int(r() * 6)]
        elif kind == "marketing_channel" and r() < 0.5:
            channel = "web_form"
        else:
            channel = "front_desk"
        code, reason = ICD10[int(r() * len(ICD10))]
        received_text = text(received)
        # Stage times as the timeline written by _insert_events tells it: one move from
        # received straight to the current status (a later stage reaches the earlier).
        changed_text = text(changed)
        reached = STAGES_REACHED[status]
        yield (
            referral_base + i + 1, patient_base + 1 + int(r() * patients), partner_id,
            contact_id, "known" if partner_id else "unresolved", source_text,
            locations[int(r() * len(locations))], line, channel, received_text, status,
            text(changed), outcome, coordinator, reason, code,
            "urgent" if r() < 0.05 else "routine",
            front if channel == "front_desk" else coordinator, received_text,
            month_of(received), *(changed_text if hit else None for hit in reached),
        )


# Per status: whether it reached contacted, scheduled, seen, closed (reports.rollup).
STAGES_REACHED = {
    "received": (False, False, False, False),
    "contacted": (True, False, False, False),
    "scheduled": (True, True, False, False),
    "seen": (True, True, True, False),
    "closed_won": (True, True, True, True),
    "closed_lost": (False, False, False, True),
}


class LocalMonth:
    """Seconds since the epoch -> practice-local YYYYMM, fast: cached per quarter hour
    (every time zone's offset is a multiple of 15 minutes, so a month starts on one)."""

    def __init__(self) -> None:
        self.tz = timezone.get_default_timezone()
        self.cache: dict[int, int] = {}

    def __call__(self, seconds: int) -> int:
        slot = seconds // 900
        month = self.cache.get(slot)
        if month is None:
            local = datetime.fromtimestamp(slot * 900, self.tz)
            month = self.cache[slot] = local.year * 100 + local.month
        return month


def _insert_events(referral_base: int, now_text: str) -> int:
    """The timeline, written by the database from the referrals just loaded: one event for
    the arrival and, when the referral has moved on, one for where it is now."""
    from refnet.referrals.models import ReferralEvent

    writer = TableWriter(ReferralEvent, EVENT_FIELDS, now_text)
    extra = ", ".join(["%s"] * len(writer.extra_values))
    columns = ", ".join(connection.ops.quote_name(c) for c in writer.columns)
    table = connection.ops.quote_name(writer.table)
    tail = f", {extra}" if extra else ""
    arrival = (f"INSERT INTO {table} ({columns}) SELECT id, received_at, created_by_id, '', "
               f"'received', 'Recorded'{tail} FROM referrals_referral WHERE id > %s")
    moved = (f"INSERT INTO {table} ({columns}) SELECT id, status_changed_at, created_by_id, "
             f"'received', status, CASE WHEN outcome = '' THEN '' ELSE 'Outcome: ' || "
             f"REPLACE(outcome, '_', ' ') END{tail} FROM referrals_referral "
             f"WHERE id > %s AND status <> 'received'")
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in (arrival, moved):
            cursor.execute(sql, [*writer.extra_values, referral_base])
            written += cursor.rowcount
    return written


def _reset_sequences(model_list: list[type[models.Model]]) -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), model_list)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def _analyze() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # A sample is enough for the planner, and ANALYZE over millions of rows is slow.
            cursor.execute("PRAGMA analysis_limit=1000")
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            # VACUUM too, as autovacuum would on a server soon after a bulk load (it may be
            # off, or not have come round before a benchmark): until the visibility map is
            # set, counts that an index answers (the board's, the list's) read the table.
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")

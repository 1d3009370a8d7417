"""Street-address recognizer (Presidio ``LocalRecognizer``).

Street lines in English, Germanic (compound ``-straße``, ``-gatan``, ``-katu``),
Romance/Slavic (``rue``, ``calle``, ``via``, ``rua``, ``ul.``) conventions, with
apartment / flat / unit / floor parts, then extended over the adjacent lines or
comma-separated parts that hold postcode, city and region. Weak candidates
(a number and capitalised words) count only when a postcode part follows.
"""

from __future__ import annotations

from functools import lru_cache

import regex as re

from fedflm.protect.deid_lexicon import COMMON_WORDS
from fedflm.protect.deid_recognizers import RegexRecognizer

_EN_TYPES = (
    "Street|St|Avenue|Ave|Av|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Square|Sq|"
    "Terrace|Ter|Way|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Crescent|Cres|Close|Grove|Gardens|Gdns|Row|"
    "Walk|Mews|Hill|Hills|Park|Alley|Trail|Trl|Path|Pike|Plaza|Loop|Run|Crossing|Xing|Point|Pt|Ridge|"
    "Heights|Hts|View|Views|Vista|Cove|Creek|Glen|Glens|Hollow|Isle|Junction|Jct|Landing|Lodge|Manor|"
    "Meadow|Meadows|Mill|Mills|Orchard|Pass|Port|Ports|Ranch|Rapid|Rapids|Rest|Shoal|Shoals|Shore|"
    "Shores|Spring|Springs|Station|Stream|Summit|Turnpike|Valley|Valleys|Via|Village|Villages|Ville|"
    "Well|Wells|Wood|Woods|Burg|Burgs|Bypass|Camp|Cape|Causeway|Center|Centers|Centre|Club|Common|"
    "Commons|Corner|Corners|Course|Curve|Dale|Dam|Divide|Estate|Estates|Expressway|Extension|Falls|"
    "Ferry|Field|Fields|Flat|Flats|Ford|Fords|Forest|Forge|Forges|Fork|Forks|Fort|Freeway|Garden|"
    "Gateway|Green|Greens|Harbor|Harbors|Harbour|Haven|Island|Islands|Key|Keys|Knoll|Knolls|Lake|"
    "Lakes|Light|Lights|Lock|Locks|Loaf|Mall|Motorway|Mount|Mountain|Mountains|Neck|Oval|Overpass|"
    "Prairie|Radial|Ramp|Route|Skyway|Spur|Stravenue|Throughway|Trace|Track|Trafficway|Tunnel|"
    "Underpass|Union|Unions|Viaduct|Arcade|Esplanade|Parade|Promenade|Quay|Rise|Vale|Wharf|Wynd|"
    "Gate|Broadway|Branch|Brook|Brooks|Bridge|Bluff|Bluffs|Bottom|Bend|Beach|Cliff|Cliffs|Crest|"
    "Cross|Crossroad|Inlet|Lane|Plain|Plains|Pine|Pines|Squares|Grn|Pde|Cct|Cl|Cres|Esp|Hwy|Pkwy"
)
_UNIT_KW = (r"(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Room|Level|Edif|Depto|Dpto|Piso|Appartamento|Apto|"
            r"Interior)\b")
_UNIT = (r"(?:(?i:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|Fl\.?|Floor|Room|Rm\.?|Bldg\.?|Building|Level|"
         r"Lot|Box|PO\s?Box|P\.O\.\s?Box|H\.?\s?No\.?|House\s+No\.?|No\.?|Nr\.?|\#|Piso|Puerta|Esc\.?|"
         r"Apto\.?|Appt\.?|Appartamento|Bâtiment|Bât\.?|Étage|Interno|Int\.?|Scala|Casa|Bloco|Lote|"
         r"Sala|Edif\.?|Depto\.?|Dpto\.?|Whg\.?|Interior|lok\.|m\.)"
         r"\s*\#?\s*[\w/-]*\d[\w/-]*"
         r"|\d{1,2}\s?[ºª°](?:\s?(?i:esq|dto|dta|izq|izda|dcha|drt|dr|frente|fte|centro)\b\.?"
         r"|\s?[A-Za-z]\b|\s?\d{1,2}[ºª°]?)?)")
_CAP = r"\p{Lu}(?![\p{Lu}\d'’.-]*(?![\w'’.-]))[\w'’.-]+"  # capitalised, not ALL CAPS
_NUM = r"(?:\d{1,6}(?:\s?-?[A-Za-z](?![\w]))?(?:\s?[-/]\s?\d{1,5}[A-Za-z]?|[ \t]\d{1,5}(?![\d-]))?|[Ss]/[Nn])"
_GERMANIC = (r"(?:straße|strasse|str\.|gasse|weg|platz|allee|ring|damm|ufer|steig|pfad|chaussee|"
             r"markt|laan|straat|plein|gracht|kade|singel|dreef|hof|pad|baan|steeg|gatan|vägen|väg|"
             r"gränd|torget|stigen|backen|gata|vej|gade|allé|alléen|plads|stræde|veien|vegen|gaten|"
             r"katu|tie|kuja|tori|polku|kaari|rinne|ranta|utca|út|tér|körút|sor|köz|iela|gatve|tänav|"
             r"sokak|sokağı|caddesi|cad\.|bulvarı|bulevardi|väylä|raitti|katu|tie)")
_ROMANCE = (r"(?:rue|avenue|av\.?|avda\.?|boulevard|bd\.?|chemin|allée|impasse|place|quai|route|"
            r"cours|square|rang|montée|calle|c/|avenida|paseo|plaza|pza\.?|camino|carrer|carretera|"
            r"ronda|travesía|alameda|glorieta|pasaje|cañada|callejón|via|viale|piazza|piazzale|corso|"
            r"largo|vicolo|strada|contrada|borgo|canale|lungomare|rotonda|stretto|vico|rua|travessa|"
            r"praça|estrada|rodovia|aeroporto|ladeira|vila|lagoa|viela|vereda|quadra|passarela|"
            r"parque|praia|pátio|lago|jardim|esplanada|distrito|conjunto|condomínio|colônia|chácara|"
            r"campo|sítio|setor|residencial|recanto|núcleo|morro|loteamento|favela|feira|estação|"
            r"trecho|vale|área|cerrada|privada|circuito|prolongación|andador|retorno|diagonal|eje|"
            r"ulica|ul\.|aleja|al\.|osiedle|plac|pl\.|náměstí|nám\.|třída|bulevardul|calea|str\.|"
            r"piața|aleea|soseaua|rruga|odos|stradă)")
_PART_WORDS = ("de del dels des du di della delle dello dei degli do da dos das la le les los las el y e "
               "et i an der den am im bei ob sur sous lès upon on en van von ter ten het op nad pod na u w")
_PART = rf"(?:(?:{'|'.join(_PART_WORDS.split())})\b|d'|l')"
_NUMFIRST = r"\d{1,6}[A-Za-z]?(?:[-/]\d{1,6}[A-Za-z]?)?,?\s+"
_MONTH_KW = (r"(?:January|February|March|April|May|June|July|August|September|October|November|"
             r"December|Tel|Phone|Fax|Mobile|SSN|IBAN|Card|Date)\b")
_SCAP = rf"(?!{_UNIT_KW}|{_MONTH_KW}|I['’]){_CAP}"
_UNITS_AFTER = rf"(?:[ \t]*,?[ \t]*(?:{_UNIT}))*"
# a house number is no part of a date (``1/14/1961, Lending Club``) nor a year before its comma (``During 1988,
# Lending Club invested``: ``Club`` is a street type)
_NO_DATE = r"(?<![\d/.-])(?!(?:1[89]|20)\d\d,)"

# suffixes that are street words only (not "-ring", "-hof", "-tie" as in "during", "tie"): re-cased views
_GERMANIC_VIEW = (r"(?:straße|strasse|gasse|allee|chaussee|straat|gracht|gatan|vägen|gränd|torget|gade|"
                  r"vej|veien|vegen|gaten|katu|utca|körút|iela|tänav|sokak|sokağı|caddesi)")


def _germanic(suffixes: str) -> str:
    return rf"""(?<!\w)(?:(?:{_UNIT})[\s,]+)?(?:(?:{_SCAP}[ \t-]+){{0,3}}{_SCAP}(?i:{suffixes})|(?:{_SCAP}[ \t-]+){{1,3}}(?i:{suffixes}))
        \b\.?[ \t]*,?[ \t]*{_NUM}{_UNITS_AFTER}"""


# strong street patterns: accepted on their own
_STREETS_STRONG = [re.compile(p, re.VERBOSE) for p in (
    # 12 [N] Main Street [SW] | 5th Avenue
    rf"""(?:(?:{_UNIT})[\s,]+)?{_NO_DATE}{_NUMFIRST}(?:(?:[NSEW]|North|South|East|West|[NSEW]\.)\s+)?
        (?:(?:\d{{1,4}}(?:st|nd|rd|th)|{_SCAP})[ \t]+){{1,4}}(?i:{_EN_TYPES})\b\.?
        (?:\s+(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\b\.?)?{_UNITS_AFTER}""",
    # Hauptstraße 5 | Sabine-Junck-Gasse 0 | Kossuth utca 12 | Backtorget 915
    _germanic(_GERMANIC),
    # 12, rue de la Paix | Calle Mayor 3, 2ºB | ul. Sokola 36/08 | Via Roma, 12
    rf"""(?<!\w)(?:(?:{_UNIT})[\s,]+)?(?:\d{{1,6}}[A-Za-z]?,?\s+)?\b(?i:{_ROMANCE})\s+(?:{_PART}\s*)*{_SCAP}
        (?:[ \t]+(?:{_PART}[ \t]+)*{_SCAP}){{0,5}}(?:[ \t]*,?[ \t]*(?:n[º°o.]\s*)?{_NUM}[ºª°]?)?{_UNITS_AFTER}""",
)]
_STREETS_STRONG.append(re.compile(r"(?<!\w)(?:P\.?\s?O\.?\s?Box|Postfach|Apartado|Casilla|Caixa\s+Postal)\s+\d{1,6}"))
# US military: PSC 1234, Box 5678 / Unit 1234 Box 567 / USNS Name, then APO|FPO|DPO AA|AE|AP 09876
_STREETS_STRONG.append(re.compile(
    r"(?<!\w)(?i:(?:PSC|CMR|Unit)\s+\d{1,5},?\s+Box\s+\d{1,5}|(?:USNS|USNV|USS|USCGC)\s+\p{L}+(?:[ \t]\p{L}+)?)"
    r"(?:[\s,]+(?i:APO|FPO|DPO)\s+(?i:A[AEP])\s+\d{5}(?:-\d{4})?)?"))
# a street corner: "the corner of Kuusiku 7 and Alexander Flat" (a number in one of the two streets)
_STREETS_STRONG.append(re.compile(
    r"(?<!\w)(?i:the\s+)?(?i:corner)\s+of\s+(?=[^,;?!\n]{0,60}\d)[^,;?!\n]{2,40}?\s+(?i:and|&)\s+"
    r"[^\s,.;?!][^,.;?!\n]{0,40}?(?=\s*(?:[,.;?!\n]|$))"))
# a lone apartment or suite with its number, an address line of its own (``send a new one to Suite 380``), not
# after a capitalised word (``Bach's Cello Suite 1``)
_STREETS_STRONG.append(re.compile(
    r"(?<![\w.])(?<!\p{Lu}[\w'’.-]*[ \t]+)(?i:apt\.?|apartment|suite|ste\.)[ \t]*\#?[ \t]*\d{1,5}[A-Za-z]?(?![\w/-])"))
_STREETS_VIEW = [_STREETS_STRONG[0], re.compile(_germanic(_GERMANIC_VIEW), re.VERBOSE), *_STREETS_STRONG[2:]]
# weak candidates: accepted only when followed by a postcode part (or preceded by a unit line)
_STREETS_WEAK = [re.compile(p, re.VERBOSE) for p in (
    rf"""(?:(?:{_UNIT})[\s,]+)?{_NUMFIRST}(?:{_SCAP}[ \t]+(?:{_PART}[ \t]+)?){{0,3}}{_SCAP}{_UNITS_AFTER}""",
    rf"""(?:(?:{_UNIT})[\s,]+)?(?:{_SCAP}[ \t]+(?:{_PART}[ \t]+)?){{0,3}}{_SCAP},?[ \t]+{_NUM}{_UNITS_AFTER}""",
    rf"""(?<!\w)(?:(?:{_SCAP}[ \t]+){{1,3}}(?i:{_EN_TYPES})|(?i:{_ROMANCE}|{_GERMANIC})[ \t]+(?:{_PART}[ \t]+)*{_SCAP}(?:[ \t]+{_SCAP}){{0,3}})\b\.?""",
)]

_POSTCODE = (r"(?i:[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}"          # UK
             r"|[A-Z]\d[A-Z]\s?\d[A-Z]\d"                     # CA
             r"|[A-Z]\d{2}\s?[A-Z\d]{4}"                      # IE Eircode
             r"|\d{4}\s?[A-Z]{2}(?![\w])"                     # NL
             r"|\d{2}-\d{3}|\d{4}-\d{3}|\d{3}\s\d{2}(?!\d)"   # PL, PT, CZ/SK/SE
             r"|\d{5}-\d{3}|\d{8}|\d{5}(?:-\d{4})?|\d{4,6})"  # BR, US ZIP, generic
             r"(?![\w])")
_STATE = r"[A-Z]{2,3}"
_CITY = rf"(?:{_CAP}|{_PART})(?:[ \t]+(?:{_CAP}|{_PART}|/|-|\((?:okres\s+)?{_CAP}(?:\s+{_CAP})?\)|\({_STATE}\)|{_STATE})){{0,6}}"
# a list bullet at the start of a line ("• ", "* ", or "??? " where an encoding lost it)
_BULLET = r"(?:(?:\?{1,3}|[•·*▪►])[ \t]+)?"
_SEG_SEP = re.compile(rf"[ \t]*(?:,[ \t]*\n?|\r?\n[ \t]*{_BULLET}|[-–](?=[ \t]))[ \t]*|[ \t]+")
_SEGMENT = re.compile(rf"""
    (?:
      {_UNIT}(?![\w])                                             # Apt. 050 (on its own line)
    | {_POSTCODE}(?:[ \t]*,?[ \t]+{_CITY})?                      # 12345 City
    | (?:{_CAP}[ \t]+){{0,3}}{_CAP}(?:[ \t]*,[ \t]*{_STATE})?[ \t]*,?[ \t]*{_POSTCODE}(?:[ \t]+{_CITY})?  # City, ST 12345
    | {_CITY}
    )
""", re.VERBOSE)
_HAS_POSTCODE = re.compile(rf"(?:^|[\s,]){_POSTCODE}")
_UNIT_LINE = re.compile(rf"(?:^|\n)[ \t]*{_BULLET}((?:{_UNIT}|\d{{1,5}}|(?:{_CAP}[ \t]+){{0,3}}{_CAP})[ \t]*,?)[ \t]*\n[ \t]*{_BULLET}$")
_STOP_WORDS = COMMON_WORDS - {"north", "south", "east", "west", "new", "main", "park", "king", "rose"}


_PARTS = frozenset(_PART_WORDS.split())
_UNIT_BEFORE = re.compile(rf"(?:{_UNIT_KW}|H\.?\s?No)\.?[ \t]*$")


def _seg_ok(seg: str) -> bool:
    words = [w for w in re.split(r"[\s,()/-]+", seg) if w]
    return bool(words) and not any(w.lower() in _STOP_WORDS and w[0].islower() and w not in _PARTS
                                   for w in words)


class StreetAddressRecognizer(RegexRecognizer):
    """Street addresses, extended over adjacent postcode / city / region parts."""

    ENTITY = "STREET_ADDRESS"
    MAX_SEGMENTS = 4

    def __init__(self, strong_only: bool = False) -> None:
        super().__init__()
        self.strong_only = strong_only  # for re-cased views: capitals there are no evidence

    def find(self, text: str):
        has_digit = any(c.isdigit() for c in text)
        if not has_digit and "\n" not in text:
            groups: tuple = ((True, _STREETS_STRONG[2:]),)  # only Romance streets can lack a number
        elif self.strong_only:
            groups = ((True, _STREETS_VIEW),)
        else:
            groups = ((True, _STREETS_STRONG), (False, _STREETS_WEAK if has_digit else ()))
        for strong, patterns in groups:
            for pat in patterns:
                for m in pat.finditer(text):
                    s, e = m.span()
                    if pat in _COMPOUND_PATTERNS and ordinary_compound(m.group(0)):
                        continue  # "During 1971", "String 5": an English word, not "-ring"/"-weg" street
                    end, postcode = self._extend_forward(text, e)
                    start = self._extend_backward(text, s)
                    if strong and not postcode and not any(c.isdigit() for c in text[start:end]) \
                            and "\n" not in text[e:e + 3]:
                        continue  # "via Apple Pay", "the place I…": a street word without number or postcode
                    if strong or postcode or (start < s and any(c.isdigit() for c in text[start:e])):
                        yield start, end, 0.8 if strong else 0.6

    def _extend_forward(self, text: str, end: int) -> tuple[int, bool]:
        postcode = False
        for _ in range(self.MAX_SEGMENTS):
            sep = _SEG_SEP.match(text, end)
            if not sep:
                break
            seg = _SEGMENT.match(text, sep.end())
            if not seg or seg.end() == sep.end():
                break
            piece = seg.group(0).rstrip()
            space_only = not any(c in sep.group(0) for c in "\n,-–")
            has_pc = bool(_HAS_POSTCODE.match(piece)) or bool(re.search(rf"[\s-]{_POSTCODE}$", piece))
            lettered = has_pc and any(c.isalpha() for c in piece.split()[0])
            if (space_only and not lettered) or not _seg_ok(piece):
                break
            postcode = postcode or has_pc
            end = sep.end() + len(piece)
        return end, postcode

    @staticmethod
    def _extend_backward(text: str, start: int) -> int:
        unit = _UNIT_BEFORE.search(text[max(0, start - 20):start])
        if unit:
            start -= unit.end() - unit.start()
        for _ in range(2):
            window = text[max(0, start - 60):start]
            m = _UNIT_LINE.search(window)
            if not m or not _seg_ok(m.group(1)):
                break
            start -= len(window) - m.start(1)
        return start


_COMPOUND_PATTERNS = (_STREETS_STRONG[1], _STREETS_VIEW[1])
_SUFFIXED = re.compile(rf"[^\W\d_]{{2,}}(?i:{_GERMANIC})(?![\w])")


def ordinary_compound(match: str) -> bool:
    """True when the street-suffixed word of a compound-street match is an English dictionary
    word (``During``, ``Offering``), not a street name (``Hauptstraße``, ``Kaiserring``)."""
    from fedflm.protect.deid_dictionary import is_ordinary
    words = _SUFFIXED.findall(match)
    return bool(words) and all(is_ordinary(w) for w in words)


def street_words() -> frozenset[str]:
    """Lower-cased street-type words (``street``, ``road``, ``rue``, ``calle``): they may end an address."""
    words = set(_EN_TYPES.lower().split("|"))
    for group in (_ROMANCE, _GERMANIC):
        words |= {w.strip("(?:)\\.") for w in group.lower().split("|")}
    return frozenset(w for w in words if w.isalpha())


def street_prefixes() -> frozenset[str]:
    """Lower-cased street words that open a street's name (``rue``, ``via``, ``avenue``, ``ul``): an
    English street type (``Rapid``, ``Walk``, ``Club``) ends one, so as a first word it is no evidence."""
    return frozenset(w for w in (w.strip("(?:)\\.") for w in _ROMANCE.lower().split("|")) if w.isalpha())


def street_compound(word: str) -> bool:
    """True for one word glued to a street suffix that is no English word (``Wingertweg``,
    ``Hauptstraße``; not ``During``, ``microprocessor``)."""
    from fedflm.protect.deid_dictionary import is_ordinary
    return bool(_SUFFIXED_VIEW.fullmatch(word)) and not is_ordinary(word)


# suffixes that end street names only ("-weg", "-straße"; not "-sor", "-ring", "-tie" of English words)
_SUFFIXED_VIEW = re.compile(rf"[^\W\d_]{{2,}}(?i:{_GERMANIC_VIEW}|weg|platz|laan|plein|vägen)")


_TAIL_WORD = re.compile(r"[ \t]*,?[ \t]+([^\W\d_][\w'’-]*)")
_TAIL_REGION = re.compile(r"[ \t]+[A-Z]{2}(?![\w])")
_TAIL_POSTCODE = re.compile(rf"[ \t]*(?:\([^\W\d_]+\))?[ \t]*,?[ \t]*{_POSTCODE}")


@lru_cache(maxsize=1)
def countries() -> frozenset[str]:
    """Lower-cased country names (Faker's English list, plus common short forms)."""
    from faker.providers.address.en_US import Provider
    return frozenset(c.lower() for c in Provider.countries) | frozenset(
        ("usa", "uk", "england", "scotland", "wales", "czechia", "russia", "south korea", "north korea"))


def country_tail(text: str, end: int, ordinary) -> int:
    """End of an address at ``end`` extended over a trailing country (``NUNGATTA Australia``,
    ``Coalville South Africa``, ``ALT-DIETMANNS, Austria``, ``ΠΑΦΟΣ, Cyprus (Greek) 13475``, or on
    the next lines: a city line then a country line, ``...\\n• NAANTALI\\n• Italy 57006``),
    up to two place words before it, and a postcode after it; or over a two-letter region
    code after an upper-case city (``POLSING OO``). ``ordinary(word)``: a lower-case
    dictionary word, which never belongs to the tail. Else ``end``."""
    region = _TAIL_REGION.match(text, end)
    if region and re.search(r"\p{Lu}{3,}$", text[:end]):
        return region.end()
    lines = _line_tail(text, end, ordinary)
    if lines > end:
        return lines
    names, pos, words = countries(), end, []
    for _ in range(4):
        m = _TAIL_WORD.match(text, pos)
        if not m or (m.group(1).islower() and ordinary(m.group(1))):
            return end
        words.append(m.group(1).rstrip(".,"))
        pos = m.end()
        for k in range(min(3, len(words)), 0, -1):
            if " ".join(words[-k:]).lower() in names:
                pc = _TAIL_POSTCODE.match(text, pos)
                return pc.end() if pc else pos
    return end


_NEXT_LINE = re.compile(rf"[ \t]*,?[ \t]*\r?\n[ \t]*{_BULLET}([^\n]*)")
_COUNTRY_LINE = re.compile(rf"([^\W\d_](?:[^\W\d_]|['’ .-])*?)[ \t]*,?[ \t]*(?:{_POSTCODE})?")
_CITY_WORD = re.compile(r"[^\W\d_][\w'’.-]*")


def _line_tail(text: str, end: int, ordinary) -> int:
    """End of an address at ``end`` grown over the lines after it, up to three, that end in a country
    line (a country, and maybe a postcode: ``Italy 57006``), the others city lines (one to three words
    without digits, none a lower-case dictionary word: ``NAANTALI``, ``riverlea``); else ``end``."""
    pos, out = end, end
    for _ in range(3):
        m = _NEXT_LINE.match(text, pos)
        if not m:
            break
        line = m.group(1).rstrip()
        country = _COUNTRY_LINE.fullmatch(line)
        if country and country.group(1).strip().lower() in countries():
            out = pos = m.start(1) + len(line)
            continue
        words = line.replace(",", " ").split()
        if not (1 <= len(words) <= 3 and all(_CITY_WORD.fullmatch(w) for w in words)
                and not any(w.islower() and ordinary(w) for w in words)):
            break
        pos = m.start(1) + len(line)
    return out

"""Presidio recognizers for what the stock ones miss: phones, addresses, names.

* :class:`IntlPhoneRecognizer` - international and national phone formats
  (``+44(0)117 496 0533``, ``0316/83778353``, ``(+358) 083778353``, ext.).
* :class:`StreetAddressRecognizer` - street lines in English, Germanic,
  Romance, Slavic and Nordic conventions, with apartment/flat/unit parts, then
  extended over the adjacent lines or comma parts that hold postcode and city.
* :class:`LexiconPersonRecognizer` - runs of capitalised tokens holding a known
  given name or surname, plus names after titles or cue phrases.

All are ``LocalRecognizer`` subclasses: they plug into a Presidio
``AnalyzerEngine`` as well as into :class:`fedflm.data.deid.Deidentifier`.
"""

from __future__ import annotations

import regex as re

from presidio_analyzer import LocalRecognizer, RecognizerResult

from spacy.lang.en.stop_words import STOP_WORDS

from fedflm.data.deid_lexicon import COMMON_WORDS, PARTICLES, NameLexicon

_STOP = COMMON_WORDS | frozenset(STOP_WORDS)


class _RegexRecognizer(LocalRecognizer):
    """Base: ``self.find(text)`` yields (start, end, score)."""

    ENTITY = ""

    def __init__(self) -> None:
        super().__init__(supported_entities=[self.ENTITY], name=type(self).__name__)

    def load(self) -> None:  # noqa: D102 - nothing to load
        pass

    def find(self, text: str):  # pragma: no cover - abstract
        raise NotImplementedError

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None) -> list[RecognizerResult]:
        return [RecognizerResult(self.ENTITY, s, e, score) for s, e, score in self.find(text)]


# ----------------------------------------------------------------- phones
_PHONE = re.compile(r"""
    (?<![\w+/.-])
    (?:
        (?:\(\s*(?:\+|00)\s?\d{1,3}\s*\)|(?:\+|00)\s?\d{1,3})[\s.-]?   # country code
        (?:\(0\)\s?)?
    )?
    (?:\(\d{1,5}\)[\s.-]?)?                                             # (area)
    \d{1,14}(?:[\s./-]{1,2}\(?\d{1,10}\)?){0,6}                         # groups
    (?:\s?(?:x|ext\.?|extension|\#)\s?\d{1,6})?
    (?![\w@-]|\.\d)
""", re.VERBOSE | re.IGNORECASE)
_DATE_SHAPE = re.compile(r"^(?:\d{1,4}[-./]\d{1,2}[-./]\d{1,4}|\d{1,2}[-./]\d{1,2})$")
_IP_SHAPE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_SSN_SHAPE = re.compile(r"^\d{3}-\d{2}-\d{4}$")


class IntlPhoneRecognizer(_RegexRecognizer):
    """Phone numbers with 7-15 digits in international or national notation."""

    ENTITY = "PHONE_NUMBER"

    def find(self, text: str):
        for m in _PHONE.finditer(text):
            s, e = m.span()
            cand = text[s:e].rstrip(" .-/")
            e = s + len(cand)
            digits = sum(c.isdigit() for c in cand)
            main = re.split(r"(?i)x|ext|#", cand)[0]
            main_digits = sum(c.isdigit() for c in main)
            if not 7 <= main_digits <= 15 or digits > 21:
                continue
            if _DATE_SHAPE.match(cand) or _IP_SHAPE.match(cand) or _SSN_SHAPE.match(cand):
                continue
            plus = "+" in cand or cand.startswith("00") or "(" in cand
            grouped = any(c in cand for c in " -./()")
            if not plus and not grouped and main_digits not in (8, 9, 10, 11):
                continue
            yield s, e, 0.7 if (plus or grouped) else 0.5


# -------------------------------------------------------------- addresses
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
         r"|\d{1,2}\s?[ºª°](?:\s?[A-Za-z]\b|\s?\d{1,2}[ºª°]?)?)")
_CAP = r"\p{Lu}[\w'’.-]+"
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
_SCAP = rf"(?!{_UNIT_KW}|{_MONTH_KW}){_CAP}"
_UNITS_AFTER = rf"(?:[ \t]*,?[ \t]*(?:{_UNIT}))*"

# strong street patterns: accepted on their own
_STREETS_STRONG = [re.compile(p, re.VERBOSE) for p in (
    # 12 [N] Main Street [SW] | 5th Avenue
    rf"""(?:(?:{_UNIT})[\s,]+)?{_NUMFIRST}(?:(?:[NSEW]|North|South|East|West|[NSEW]\.)\s+)?
        (?:(?:\d{{1,4}}(?:st|nd|rd|th)|{_SCAP})\s+){{1,4}}(?i:{_EN_TYPES})\b\.?
        (?:\s+(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\b\.?)?{_UNITS_AFTER}""",
    # Hauptstraße 5 | Sabine-Junck-Gasse 0 | Kossuth utca 12 | Backtorget 915
    rf"""(?:(?:{_UNIT})[\s,]+)?(?:{_SCAP}[ \t-]+){{0,3}}(?:{_SCAP})?(?i:{_GERMANIC})\b\.?[ \t]*,?[ \t]*{_NUM}{_UNITS_AFTER}""",
    # 12, rue de la Paix | Calle Mayor 3, 2ºB | ul. Sokola 36/08 | Via Roma, 12
    rf"""(?<!\w)(?:(?:{_UNIT})[\s,]+)?(?:\d{{1,6}}[A-Za-z]?,?\s+)?\b(?i:{_ROMANCE})\s+(?:{_PART}\s*)*{_SCAP}
        (?:[ \t]+(?:{_PART}[ \t]+)*{_SCAP}){{0,5}}(?:[ \t]*,?[ \t]*(?:n[º°o.]\s*)?{_NUM}[ºª°]?)?{_UNITS_AFTER}""",
)]
_STREETS_STRONG.append(re.compile(rf"(?<!\w)(?:P\.?\s?O\.?\s?Box|Postfach|Apartado|Casilla|Caixa\s+Postal)\s+\d{{1,6}}"))
# weak candidates: accepted only when followed by a postcode part (or preceded by a unit line)
_STREETS_WEAK = [re.compile(p, re.VERBOSE) for p in (
    rf"""(?:(?:{_UNIT})[\s,]+)?{_NUMFIRST}(?:{_SCAP}[ \t]+(?:{_PART}[ \t]+)?){{0,3}}{_SCAP}{_UNITS_AFTER}""",
    rf"""(?:(?:{_UNIT})[\s,]+)?(?:{_SCAP}[ \t]+(?:{_PART}[ \t]+)?){{0,3}}{_SCAP},?[ \t]+{_NUM}{_UNITS_AFTER}""",
    rf"""(?<!\w)(?:(?:{_SCAP}[ \t]+){{1,3}}(?i:{_EN_TYPES})|(?i:{_ROMANCE}|{_GERMANIC})[ \t]+(?:{_PART}[ \t]+)*{_SCAP}(?:[ \t]+{_SCAP}){{0,3}})\b\.?""",
)]

_POSTCODE = (r"(?:[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}"          # UK
             r"|[A-Z]\d[A-Z]\s?\d[A-Z]\d"                     # CA
             r"|[A-Z]\d{2}\s?[A-Z\d]{4}"                      # IE Eircode
             r"|\d{4}\s?[A-Z]{2}(?![\w])"                     # NL
             r"|\d{2}-\d{3}|\d{4}-\d{3}|\d{3}\s\d{2}(?!\d)"   # PL, PT, CZ/SK/SE
             r"|\d{5}-\d{3}|\d{8}|\d{5}(?:-\d{4})?|\d{4,6})"  # BR, US ZIP, generic
             r"(?![\w])")
_STATE = r"[A-Z]{2,3}"
_CITY = rf"(?:{_CAP}|{_PART})(?:[ \t]+(?:{_CAP}|{_PART}|/|-|\((?:okres\s+)?{_CAP}(?:\s+{_CAP})?\)|{_STATE})){{0,6}}"
_SEG_SEP = re.compile(r"[ \t]*(?:,[ \t]*\n?|\n|\r\n)[ \t]*|[ \t]+")
_SEGMENT = re.compile(rf"""
    (?:
      {_POSTCODE}(?:[ \t]*,?[ \t]+{_CITY})?                        # 12345 City
    | (?:{_CAP}[ \t]+){{0,3}}{_CAP}(?:[ \t]*,[ \t]*{_STATE})?[ \t]*,?[ \t]*{_POSTCODE}(?:[ \t]+{_CITY})?  # City, ST 12345
    | {_CITY}
    )
""", re.VERBOSE)
_HAS_POSTCODE = re.compile(rf"(?:^|[\s,]){_POSTCODE}")
_UNIT_LINE = re.compile(rf"(?:^|\n)[ \t]*((?:{_UNIT}|\d{{1,5}}|(?:{_CAP}[ \t]+){{0,3}}{_CAP})[ \t]*,?)[ \t]*\n[ \t]*$")
_STOP_WORDS = COMMON_WORDS - {"north", "south", "east", "west", "new", "main", "park", "king", "rose"}


_PARTS = frozenset(_PART_WORDS.split())
_UNIT_BEFORE = re.compile(rf"(?:{_UNIT_KW}|H\.?\s?No)\.?[ \t]*$")


def _seg_ok(seg: str) -> bool:
    words = [w for w in re.split(r"[\s,()/-]+", seg) if w]
    return bool(words) and not any(w.lower() in _STOP_WORDS and w[0].islower() and w not in _PARTS
                                   for w in words)


class StreetAddressRecognizer(_RegexRecognizer):
    """Street addresses, extended over adjacent postcode / city / region parts."""

    ENTITY = "STREET_ADDRESS"
    MAX_SEGMENTS = 4

    def find(self, text: str):
        has_digit = any(c.isdigit() for c in text)
        if not has_digit and "\n" not in text:
            groups: tuple = ((True, _STREETS_STRONG[2:]),)  # only Romance streets can lack a number
        else:
            groups = ((True, _STREETS_STRONG), (False, _STREETS_WEAK if has_digit else ()))
        for strong, patterns in groups:
            for pat in patterns:
                for m in pat.finditer(text):
                    s, e = m.span()
                    end, postcode = self._extend_forward(text, e)
                    start = self._extend_backward(text, s)
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
            space_only = "\n" not in sep.group(0) and "," not in sep.group(0)
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


# ----------------------------------------------------------------- persons
_TOKEN = re.compile(r"[^\W\d_](?:[^\W\d_]|['’](?=[^\W\d_])|-(?=[^\W\d_]))*\.?")
_TITLES = frozenset(
    "mr mrs ms miss mx dr prof professor sir dame madam lady lord herr frau fr hr mme mlle m sr sra "
    "srta dña don doña sig sig.ra dott ing pan pani dhr mevr mw rev fr father sister brother "
    "capt captain col sgt lt gen".split())
_GREETINGS = frozenset("dear hi hello hey attn regards thanks cheers sincerely".split())
_CUES = re.compile(r"(?i:\b(?:name\s+is|named|called|i\s+am|i'm|this\s+is|signed|regards|"
                   r"sincerely|thanks|cheers|dear|hi|hello|hey|attn|contact|patient|customer|client|"
                   r"applicant|employee|tenant|holder|owner)[:,]?\s+)$")
_LAST_COMMA = re.compile(r"(\p{Lu}[\w'’-]+(?:[ \t]+\p{Lu}[\w'’-]+)?),[ \t]$")
_LAST_COMMA_PART = re.compile(r"((?:(?:da|de|del|van|von|di|le|la|dos|das)[ \t]+)+\p{Lu}[\w'’-]+),[ \t]$")


def _name_like(word: str) -> bool:
    """Capitalised and not all capitals (``I``, ``US``, ``SWIFT`` are not names here)."""
    return word[:1].isupper() and not word.isupper() and re.split("['’]", word)[0] != "I"


def self_next_cap(toks: list, j: int) -> bool:
    """True if tokens after j are particles followed by a capitalised token."""
    k = j
    while k < len(toks) and toks[k][2].lower() in PARTICLES:
        k += 1
    return k < len(toks) and k - j <= 3 and toks[k][2][:1].isupper()


class LexiconPersonRecognizer(_RegexRecognizer):
    """Names: capitalised runs with a known given name / surname, or after a title or cue."""

    ENTITY = "PERSON"

    def __init__(self, lexicon: NameLexicon) -> None:
        super().__init__()
        self.lexicon = lexicon

    def find(self, text: str):
        toks = [(m.start(), m.end(), m.group(0).rstrip(".")) for m in _TOKEN.finditer(text)]
        i = 0
        while i < len(toks):
            j = self._run_end(text, toks, i)
            if j > i:
                span = self._judge(text, toks, i, j)
                if span:
                    yield self._with_surname_before(text, span)
                i = j
            else:
                i += 1

    @staticmethod
    def _run_end(text: str, toks: list, i: int) -> int:
        """Index after the run of capitalised tokens (particles allowed inside) starting at i."""
        if not _name_like(toks[i][2]):
            return i
        j = i + 1
        while j < len(toks):
            gap = text[toks[j - 1][1]:toks[j][0]]
            if gap not in (" ", "-", ". ", " '") and not (gap == ", " and False):
                break
            word = toks[j][2]
            if _name_like(word):
                j += 1
            elif word.lower() in PARTICLES and self_next_cap(toks, j):
                j += 1
            else:
                break
        return j

    def _judge(self, text: str, toks: list, i: int, j: int):
        words = [t[2] for t in toks[i:j]]
        # strip a leading title: it stays visible, the name after it is masked
        titled = False
        while words and words[0].lower().rstrip(".") in _TITLES | _GREETINGS and len(words) > 1:
            words, i, titled = words[1:], i + 1, True
        # "Call Maria Garcia": a leading unknown word before a given name is not part of the name
        while len(words) > 2 and not self.lexicon.is_name(words[0]) and self.lexicon.is_first(words[1]):
            words, i = words[1:], i + 1
        if not words:
            return None
        known = [self.lexicon.is_name(w) for w in words]
        firsts = [self.lexicon.is_first(w) for w in words]
        before = text[max(0, toks[i][0] - 30):toks[i][0]]
        sentence_start = not before.strip() or before.rstrip()[-1:] in ".!?:\n\"'(" and \
            not before.rstrip().endswith(",")
        cue = bool(_CUES.search(before)) or titled or self._title_before(before)
        s, e = toks[i][0], toks[j - 1][1]
        if text[e - 1:e] == "." and len(toks[j - 1][2]) > 1:
            e -= 1
        if len(words) >= 2 and (any(known) or cue) and sum(known) * 2 >= len(words) - 1:
            return s, e, 0.85
        if len(words) >= 2 and cue:
            return s, e, 0.6
        if len(words) == 1 and cue and (known[0] or titled) and words[0].lower() not in _STOP:
            return s, e, 0.8
        if len(words) == 1 and firsts[0] and not sentence_start and words[0].lower() not in _STOP:
            return s, e, 0.6
        return None

    def _with_surname_before(self, text: str, span: tuple) -> tuple:
        """Extend ``First`` to ``Last, First`` when a known surname precedes with a comma."""
        start, end, score = span
        before = text[max(0, start - 40):start]
        m = _LAST_COMMA_PART.search(before) or _LAST_COMMA.search(before)
        last = m.group(1).split()[-1] if m else ""
        if m and _name_like(last) and last.lower() not in _STOP | _GREETINGS and \
                not _CUES.search(before[:m.start(1)]) or (m and self.lexicon.is_last(last)):
            start -= len(before) - m.start(1)
        return start, end, score

    @staticmethod
    def _title_before(before: str) -> bool:
        m = re.search(r"([^\W\d_]+)\.?\s+$", before)
        return bool(m) and m.group(1).lower() in _TITLES


# ------------------------------------------------------- extra patterns
_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December|"
           "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Januar|Februar|März|Mai|Juni|Juli|Oktober|"
           "Dezember|janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre|"
           "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre")
_WRITTEN_DATE = re.compile(rf"""
    \b(?:\d{{1,2}}(?:st|nd|rd|th|\.)?\s+(?:of\s+|de\s+)?(?i:{_MONTHS})\.?,?\s+(?:de\s+)?\d{{4}}
    |(?i:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})\b
""", re.VERBOSE)


class WrittenDateRecognizer(_RegexRecognizer):
    """Dates with a written month: ``30 June 1997``, ``December 04, 1993``, ``3. März 2001``."""

    ENTITY = "DATE_TIME"

    def find(self, text: str):
        for m in _WRITTEN_DATE.finditer(text):
            yield m.start(), m.end(), 0.6


_LOOSE_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")


def iban_checksum_ok(candidate: str) -> bool:
    """ISO 13616 mod-97 check of an IBAN (spaces ignored)."""
    s = candidate.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    digits = "".join(str(int(c, 36)) for c in moved)
    return int(digits) % 97 == 1


class LooseIbanRecognizer(_RegexRecognizer):
    """IBANs of any country (mod-97 checksum), also where Presidio's per-country length differs."""

    ENTITY = "IBAN_CODE"

    def find(self, text: str):
        for m in _LOOSE_IBAN.finditer(text):
            if iban_checksum_ok(m.group(0)):
                yield m.start(), m.end(), 0.9


_CARD_2SERIES = re.compile(r"\b2[2-7]\d{2}(?:[- ]?\d{4}){3}\b")


def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class MastercardSeries2Recognizer(_RegexRecognizer):
    """Mastercard 2221-2720 numbers, absent from Presidio's card pattern (Luhn checked)."""

    ENTITY = "CREDIT_CARD"

    def find(self, text: str):
        for m in _CARD_2SERIES.finditer(text):
            if luhn_ok(m.group(0)):
                yield m.start(), m.end(), 1.0


_URL = re.compile(r"\b(?:https?://|ftp://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


class SimpleUrlRecognizer(_RegexRecognizer):
    """URLs with a scheme or ``www.`` (Presidio's needs the public-suffix list and is slow)."""

    ENTITY = "URL"

    def find(self, text: str):
        for m in _URL.finditer(text):
            yield m.start(), m.end(), 0.6

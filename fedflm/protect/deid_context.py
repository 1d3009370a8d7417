"""Person spans judged by what surrounds them: organisation names, and further mentions.

* :func:`names_an_organisation` - a person-looking run that ends in, or runs on into, an
  organisation designator (``Conway Inc.``, ``Russell Investments``, ``The Davis, Reynolds and
  Williamson Orchestra``) names a company, not a person; such person spans are dropped.
  The designators are the common legal forms (Inc, LLC, GmbH, ...) and organisation head
  nouns (Group, Associates, University, ...), a general list, not one read off any data set.
* :func:`more_mentions` - once a word was masked as part of a name, its other whole-word
  mentions in the same text are masked too (``My name is Aantje Mourik but everyone calls
  me Aantje``), unless it is an ordinary English word.
"""

from __future__ import annotations

import regex as re

from fedflm.protect.deid_works import RECIPIENT_VERBS

LEGAL_FORMS = frozenset(
    "inc incorporated llc llp lp ltd limited corp corporation co company plc gmbh ag kg ohg ug sa sas "
    "sarl srl spa bv nv oy oyj ab asa aps pty pte bhd kk"
    # more one-word legal forms of Faker's company providers (training locales)
    " kgaa gbr gesbr mbh ltda lda limitada eurl sàrl snc vof commv".split())
ORG_NOUNS = frozenset(
    "group associates partners holdings technologies technology systems solutions services consulting "
    "consultants investments insurance bank bancorp capital industries enterprises labs laboratories "
    "media software networks analytics orchestra foundation institute university college academy "
    "hospital clinic agency ventures brothers bros trust fund association society club".split())
# head nouns of firms' names that are common English words ("American Red Ball Movers", "Gradiant Research"):
# they count only capitalised ("I paid John Smith movers money" keeps John Smith); hand list
HEAD_NOUNS = frozenset(
    "movers research logistics realty motors airlines pharmaceuticals communications entertainment electronics "
    "energy finance productions publishing marketing international service".split())
DESIGNATORS = LEGAL_FORMS | ORG_NOUNS | HEAD_NOUNS
# between a name-like run and its designator: words, joined by spaces, commas, "and" / "&"
_NEXT = re.compile(r"\.?(,?[ \t]+(?:and|&)[ \t]+|,[ \t]+|[ \t]+)([^\W\d_][\w'’-]*)\.?", re.IGNORECASE)
_STOP_WALK = frozenset("the a an of at in on for from to by with is was are were as who which that "
                       "this his her their our my your its".split())
_MAX_WALK = 4
_MAX_LOWER_WALK = 2


def _designator(word: str, strict: bool) -> bool:
    low = word.lower().strip(".")
    if strict:
        return low in LEGAL_FORMS and len(low) >= 3
    return low in DESIGNATORS and (low not in HEAD_NOUNS or word[:1].isupper())


def names_an_organisation(text: str, start: int, end: int, cased: bool = True) -> bool:
    """True if ``text[start:end]`` is part of an organisation name.

    It is when its last word is a designator, or when the next few words reach one, joined by
    spaces only (``Compendia Bioscience Life Technologies``) or in the ``A, B and C Ltd`` shape
    (commas and an ``and``/``&``). ``John Smith and Acme Inc`` and ``John Smith, Acme Corp``
    keep John Smith.

    ``cased=False`` (text all lower or all upper case, and address spans, where ``CO``, ``SA``
    or ``AB`` are regions and ``bank`` or ``group`` ordinary words): only a legal form of three
    or more letters counts (``inc``, ``llc``, ``gmbh``), as the span's last or the next word.
    """
    words = re.findall(r"[^\W\d_][\w'’-]*", text[start:end])
    if words and _designator(words[-1], not cased):
        return True
    if not cased:
        m = _NEXT.match(text, end)
        return bool(m) and m.group(1).strip() == "" and _designator(m.group(2), True)
    # a firm written in lower case in text with capitals ("During 2014, stillwater supercomputing inc.
    # invested"): a one-word span and one lower-case word after it, then a legal form of three or more letters
    # ("During May, lopez paid acme inc.": a two-word span holding a verb stays a person)
    lowered = text[start:end].islower() and len(words) == 1
    pos, has_and, has_comma = end, False, "," in text[start:end]
    for _ in range(_MAX_LOWER_WALK if lowered else _MAX_WALK):
        m = _NEXT.match(text, pos)
        if not m or m.group(2).lower() in _STOP_WALK:
            return False
        joiner = m.group(1).lower()
        has_and |= "and" in joiner or "&" in joiner
        has_comma |= "," in joiner
        if _designator(m.group(2), lowered):
            return has_and == has_comma
        if not (m.group(2).islower() if lowered else m.group(2)[:1].isupper()):
            return False  # in cased text an organisation's words are capitalised
        pos = m.end()
    return False


# a lone double surname with no given name or title before it is a firm's name in the shape
# Faker-style company names take ("During 1971, Mayo-Walters invested"); a person's double
# surname comes with a given name or a title ("Zoe Clarke-Williams", "Ms. Clarke-Williams")
_DOUBLE_SURNAME = re.compile(r"\p{Lu}[\p{L}'’]*\p{Ll}-\p{Lu}[\p{L}'’]*\p{Ll}")  # also "Gallogly-McPartland"
_DOUBLE_ANY_CASE = re.compile(r"([^\W\d_]{2,})-([^\W\d_]{2,})")
_WORD_BEFORE = re.compile(r"([^\W\d_]+)\.?[ \t]*$")


def lone_double_surname(text: str, start: int, end: int, titles: frozenset[str] = frozenset(),
                        is_first=lambda w: False, cased: bool = True, given_only=lambda w: False) -> bool:
    """True if ``text[start:end]`` is a lone double surname (``Mayo-Walters``) with no capitalised
    word and no title of ``titles`` right before it on its line: ``During 1971, Mayo-Walters
    invested`` names a firm; ``Zoe Clarke-Williams`` and ``Ms. Clarke-Williams`` name people.
    A pair whose second word is only a given name (``given_only``: no surname too) is a double given
    name (``Anna-Lena``): a person. In text without capitals (``cased=False``) any hyphenated pair
    counts, and a given name (``is_first``) before it keeps it a person (``anna williams-morton``).

    Three lone surnames listed (``Hawkins, Richardson and Santana``) are firms in the shape of
    :func:`fedflm.protect.deid_company.in_surname_list`."""
    m = _DOUBLE_ANY_CASE.fullmatch(text, start, end)
    if not m or given_only(m.group(2)) or cased and not _DOUBLE_SURNAME.fullmatch(text, start, end):
        return False
    line_start = text.rfind("\n", 0, start) + 1
    w = _WORD_BEFORE.search(text, line_start, start)
    if not w:
        return True
    before = w.group(1)
    return not (before.lower() in titles or (before[:1].isupper() if cased else is_first(before)))

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def more_mentions(text: str, spans: list[tuple[int, int]], ordinary) -> list[tuple[int, int]]:
    """Other whole-word mentions (any case) of the words in the person ``spans`` of ``text``.

    ``ordinary(word)`` tells a word that must not spread (``will``, ``story``); words of
    fewer than three letters never do.
    """
    words = {w.lower() for s, e in spans for w in _WORD.findall(text[s:e])
             if len(w) >= 3 and not ordinary(w)}
    if not words:
        return []
    out = []
    for m in _WORD.finditer(text):
        if m.group(0).lower() in words and not any(s <= m.start() < e for s, e in spans):
            out.append(m.span())
    return out


# street types that are not also common surnames or given names (``Hill``, ``Park``, ``Lane`` are)
_STREET_END = frozenset(
    "street st road rd avenue ave boulevard blvd drive suite apt apartment highway hwy parkway pkwy terrace "
    "crescent court courts flat flats plaza square strasse straße straat gatan utca út ul calle rua rue".split())
_HOUSE_NUMBER_BEFORE = re.compile(r"(?<![\d:/.,-])\d{1,5}[a-zA-Z]?[ \t]+$")
_NUMBER_GROUP_END = re.compile(r"\d[ \t]*$")
_HOUSE_NUMBER_AFTER = re.compile(r"[ \t]+(?:(?i:u|ul|út|utca|nr|no)\.?[ \t]*)?\d{1,5}[a-zA-Z]?(?![\w:/-]|[.,]\d)")
# a payee and the amount paid, not a street and its house number: a currency after the number (``pay john
# smith 200 euros``), or a verb of paying right before the name (``i sent anna kowalski 30 for the tickets``)
_CURRENCY_NEXT = re.compile(r"[ \t]*(?:[€$£¥₹]|(?i:euros?|eur|dollars?|usd|pounds?|gbp|quid|bucks|francs?|chf|"
                            r"kronor|kroner|krona|sek|nok|dkk|zlotys?|pln|yen|jpy|rupees?|inr|cents?|pence)(?![\w'’-]))")
_PAID_BEFORE = re.compile(r"(?<![\w'’-])(?i:pay|pays|paid|paying|send|sends|sent|wire|wired|transfer|transferred|refund|"
                          r"refunded|reimburse|reimbursed|" + "|".join(sorted(RECIPIENT_VERBS)) + r")[ \t]+$")


def reads_as_street(text: str, start: int, end: int) -> bool:
    """True if the person-looking ``text[start:end]`` is a street name: a house number stands
    right before it (``9816 214 Pavlou Drandaki``) or after it (``Király u. 15``, ``Heatherleigh
    Suite 620``), or it ends in a street type that is not also a name (``Lahtinen Road``). A number after it
    that is an amount paid (a currency after it, a verb of paying before the name) is no house number."""
    words = _WORD.findall(text, start, end)
    if len(words) >= 2 and words[-1].lower() in _STREET_END:
        return True
    line_start = text.rfind("\n", 0, start) + 1
    return bool(_HOUSE_NUMBER_BEFORE.search(text[line_start:start]) or _house_number_after(text, start, end))


def _house_number_after(text: str, start: int, end: int):
    """The house number right after the street name ``text[start:end]``, or None; an amount paid to a
    person is none (``I owe Peter 20 pounds``, ``pay john smith 200 today``)."""
    after = _HOUSE_NUMBER_AFTER.match(text, end)
    if after and (_CURRENCY_NEXT.match(text, after.end()) or _PAID_BEFORE.search(text, max(0, start - 20), start)):
        return None
    return after


def street_extent(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` of the street name ``text[start:end]`` grown over its house number right
    before or after it on its line (``9816 Tarvo Mellin``, ``Király u. 15``); not over the last
    group of a longer number (``0783 533 7406 Pavlou``: a phone's)."""
    line_start = text.rfind("\n", 0, start) + 1
    before = _HOUSE_NUMBER_BEFORE.search(text, line_start, start)
    if before and _NUMBER_GROUP_END.search(text, line_start, before.start()):
        before = None
    after = _house_number_after(text, start, end)
    return (before.start() if before else start, after.end() if after else end)


# what stands right before a place: "flew to", "grew up in", "home city", "I'm in", "came from"
_PLACE_CUE = re.compile(
    r"(?:\b(?:flew|fly|flies|flying|moved|moving|move|returned|return|returning|travel+ed|travel+ing|drove|"
    r"driving|relocated|emigrated|headed|commuted?|trip|flight|journey)[ \t]+(?:back[ \t]+)?to"
    r"|\b(?:lives?|lived|living|born|grew[ \t]+up|raised|based|located|situated|staying|stayed|resides?|resided|"
    r"headquartered|settled|i'?m|i[ \t]+am|we'?re|we[ \t]+are)[ \t]+in"
    r"|\bhome[ \t]+(?:city|town)|\b(?:city|town|village|capital|university|province|county|region|district|"
    r"outskirts|suburbs?|mayor|governor)[ \t]+of|\b(?:northern|southern|eastern|western)"
    r"|\b(?:came|comes|moved|emigrated|immigrated|flew|arrived|returned)[ \t]+(?:(?:back|here|there)[ \t]+)?from"
    r"|\b(?:arrived|arriving|arrives|landed|landing)[ \t]+(?:at|in)"
    # no bare "in": bank chat names people after it ("i put the money in maria gonzalez account")
    r")[ \t]*$",
    re.IGNORECASE)
_POSSESSIVE_NEXT = re.compile(r"['’][sS]\b")
_COMPASS = re.compile(r"(?:northern|southern|eastern|western)[ \t]+\w", re.IGNORECASE)


def after_place_cue(text: str, start: int, end: int) -> bool:
    """True if the person-looking ``text[start:end]`` stands where a place is named: right after
    ``flew to``, ``grew up in``, ``home city``, ``I'm in``, ``came from``, ``arrived at``,
    ``university of`` or ``Southern`` (``returned to San Bernardino``), or it opens with
    ``Northern``/``Southern``/...; not when it is a possessive (``moved to Maria's house``). A bare
    ``in`` is no cue: bank chat names people after it (``i put the money in maria gonzalez account``)."""
    line_start = text.rfind("\n", 0, start) + 1
    if _POSSESSIVE_NEXT.match(text, end):
        return False
    return bool(_PLACE_CUE.search(text[line_start:start]) or _COMPASS.match(text, start, end))


# earlier or later names of one list ("at Jones, Mitchell and Williams as"): capitalised runs joined
# by commas or and/&
_RUN = r"\p{Lu}[\w'’.-]*(?:[ \t]+\p{Lu}[\w'’.-]*)*"
_JOIN = r"(?:,[ \t]*|[ \t]+(?:and|&)[ \t]+|,[ \t]*(?:and|&)[ \t]+)"
_LIST_HEAD = "(?-i:(?:" + _RUN + _JOIN + ")*)"
_LIST_TAIL = "(?-i:(?:" + _JOIN + _RUN + ")*)"
# what stands right before a firm's name: "later became", "acquired by", "a year at", "worked at";
# and right after one: "is a design agency", "is an insurance company" (a person is not an agency)
_FIRM_BEFORE = re.compile(
    r"(?:\b(?:later|then|since|eventually|soon|which|that|it|and)[ \t]+became|\brenamed(?:[ \t]+(?:to|as))?"
    r"|\b(?:acquired|bought|owned|founded|taken[ \t]+over)[ \t]+by|\bmerged[ \t]+with|\bsubsidiary[ \t]+of"
    r"|\bspun[ \t]+off[ \t]+from|\bshares[ \t]+(?:of|in)"
    r"|\b(?:worked|works|working|job|jobs|internship|interned|year|years|months|career|position|role)[ \t]+at"
    r"|\b(?:work|works|worked|working)[ \t]+for|\bemployed[ \t]+by)"
    r"[ \t]*" + _LIST_HEAD + r"(?:[^\W\d_]\.?[ \t]+)?$", re.IGNORECASE)  # an initial may open it: "at t rowe price"
_FIRM_NOUNS = ("agency|company|firm|startup|start-up|business|corporation|brand|retailer|manufacturer|provider|"
               "publisher|bank|consultancy|conglomerate|maker|supplier|vendor|organi[sz]ation|nonprofit|"
               "non-profit|charity|employer|insurer|lender|carrier|airline|chain")
_FIRM_AFTER = re.compile(_LIST_TAIL + r"[ \t]+(?:is|was|has[ \t]+been)[ \t]+(?:an?|the)[ \t]+(?:[\w-]+[ \t]+){0,2}(?:"
                         + _FIRM_NOUNS + r")\b", re.IGNORECASE)


def firm_cue(text: str, start: int, end: int) -> bool:
    """True if the person-looking ``text[start:end]`` stands where a firm is named: right after
    ``later became``, ``acquired by``, ``merged with``, ``worked at``, ``a year at``, ``work for``,
    ``employed by``
    (``which later became Credit Karma``), or right before ``is a ... agency/company/firm``
    (``Berkshire Hathaway is a design agency``), also as a later or earlier name of a list
    (``a year at Jones, Mitchell and Williams``, ``Lopez, Santos and Coleman is a design agency``);
    not when it is a possessive (``worked at Maria's bakery``)."""
    line_start = text.rfind("\n", 0, start) + 1
    if _POSSESSIVE_NEXT.match(text, end):
        return False
    return bool(_FIRM_BEFORE.search(text[line_start:start]) or _FIRM_AFTER.match(text, end)
                or _FAMILY_FIRM.match(text, end) or _FAMILY_FIRM_END.search(text, start, end))


# a family or partnership firm's tail, in the forms Faker's company providers of the training locales
# write (``and Sons``, ``& Söhne``, ``et Fils``, ``e Figli``, ``og Sønner``, ``& Co.``, ``y Asociados``),
# right after the span or as its own end (the lexicon reads ``Rossi e Figli`` as one run); the tail
# word must be capitalised: ``i visited maria and sons`` keeps Maria; ``co`` is no tail before a hyphen and a
# word (``I lent Nura Holík and Co-workers money``: co-workers, co-signers are people)
_FAMILY_JOIN = r"[ \t]+(?:and|&|und|et|e|y|og|och|en)[ \t]+"
_FAMILY_WORD = (r"(?:sons|söhne|sohn|fils|figli|hijos|filhos|sønner|søn|zonen|co(?![-‐]\w)|cie|partners?|associates|"
                r"associés|asociados)\.?")
_FAMILY_TAIL = _FAMILY_JOIN + r"(?-i:(?=\p{Lu}))" + _FAMILY_WORD
#: the same tail in any letter case, for text without capitals (:mod:`fedflm.protect.deid_lone`)
FAMILY_TAIL_ANY_CASE = re.compile(_FAMILY_JOIN + _FAMILY_WORD + r"(?!\w)", re.IGNORECASE)
_FAMILY_FIRM = re.compile(_FAMILY_TAIL + r"(?!\w)", re.IGNORECASE)
_FAMILY_FIRM_END = re.compile(_FAMILY_TAIL + r"$", re.IGNORECASE)


# a company's coined one-word name: a stem fused with a trade suffix ("Karmadata", "Mandasoft");
# no given name or surname of the lexicon's 39,000 ends so (unlike -net, -gen, -com, -tech)
_FIRM_WORD = re.compile(r"(?<!\w)(?:[^\W\d_]{3,}(?:data|soft|ware|works|labs|logic|matics|tronics|sys|group|corp|tech|cloud"
                        r"|hub|stack|metrics)|[^\W\d_]{5,}com|(?:data|info|cyber|micro|omni|digi|pharma|soft|tech)"
                        r"[^\W\d_]{3,})(?!\w)", re.IGNORECASE)
# trade prefixes and suffixes (issue 18i): no given name or surname of the lexicon starts with data-, info-, cyber-,
# micro-, omni-, digi-, pharma-, soft- (tech-: "Techer" only, 2 letters short) or ends in -tech, -cloud, -hub,
# -stack, -metrics; -com only after five letters ("Malcom", "Bascom" have three)


def ends_in_firm_word(text: str, start: int, end: int, ordinary=lambda w: False) -> bool:
    """True if the last word of ``text[start:end]`` is a coined company word that is no dictionary word
    (``Berkery Noyes Mandasoft`` atop an address): no name of the lists ends so."""
    words = _WORD.findall(text, start, end)
    return bool(words) and bool(_FIRM_WORD.fullmatch(words[-1])) and not ordinary(words[-1])


_LIST_BEFORE = re.compile(_LIST_HEAD + r"(?:\p{Lu}\.?[ \t]+)?$")  # "... and T Rowe Price"
_LIST_AFTER = re.compile(_LIST_TAIL)
_LIST_AND = re.compile(r"\s(?:and|&)\s(?!" + _FAMILY_WORD + r"(?!\w))", re.IGNORECASE)  # not "& Co. KG"
_MEMBERS = re.compile(_JOIN)


def fused_words(word: str, ordinary=lambda w: False) -> bool:
    """True if the capitalised ``word`` is two English words of four or more letters written as one and is
    no English word itself (``Blackrock``, ``Plotwatt``): a coined firm name; the caller drops known names
    (``Greenfield``, ``Blackwood`` are surnames)."""
    if len(word) < 8 or not (word[:1].isupper() and word[1:].islower()) or ordinary(word.lower()):
        return False
    low = word.lower()
    return any(ordinary(low[:i]) and ordinary(low[i:]) for i in range(4, len(low) - 3))


def in_firm_list(text: str, start: int, end: int, ordinary=lambda w: False, partnership=None,
                 cued=lambda text, pos: False, known=lambda w: True) -> bool:
    """True if the person-looking ``text[start:end]`` is a name of a list of three or more
    (``A, B and C``) one of whose names is a coined company word that is no dictionary word
    (``Demystdata, Reed Elsevier and T Rowe Price``, ``Bekins, Citigroup and Telenav``) or is a name
    ending in a legal form or an organisation noun (``Infocommerce Group, Biovia and Plotwatt``): a list
    of firms. A name and its firm after a comma (``Ana Lutz, Karmadata``) is no such list, nor is a
    dictionary word (``Software``); the caller keeps a name that opens with a given name (``Anna Berg,
    Acme Group and ...``).
    ``partnership(text, first, last)``: the list holds a partnership's name (``White, Willis and Hoffman,
    Biovia and Opencounter``); ``cued(text, first)``: a person cue before the list makes it people's; a name
    of two fused English words that is no known name (``known``) is a firm's too (``Bekins, Blackrock and
    Symcat``: :func:`fused_words`)."""
    line_start = text.rfind("\n", 0, start) + 1
    head = _LIST_BEFORE.search(text, line_start, start)
    first = head.start() if head else start
    last = _LIST_AFTER.match(text, end).end()
    members = text[first:last]
    join = _MEMBERS.search(text, first, last)  # a cue may open the first name's run: "Dear Jones, ..."
    if not (_LIST_AND.search(members) and "," in members) or any(
            cued(text, m.start()) for m in _WORD.finditer(text, first, join.start() if join else last)):
        return False
    return (any(not ordinary(m.group()) for m in _FIRM_WORD.finditer(members))
            or any(fused_words(w, ordinary) and not known(w) for w in _WORD.findall(members))
            or any(len(w) >= 2 and _designator(w[-1], False) for w in map(_WORD.findall, _MEMBERS.split(members)))
            or partnership is not None and partnership(text, first, last))


# function words a title capitalises and a name does not hold ("Carry Me Back To Poland")
_TITLE_WORDS = frozenset("to me of the in on at for from with your our is are was were it you we us not be "
                         "into over under about without".split())


def reads_as_title(span: str) -> bool:
    """True if the person-looking ``span`` is a title written in Title Case (a song, book or film):
    at least two of its words after the first are capitalised function words (``Carry Me Back To
    Poland``). One is not enough (``Anna To``, ``Luis De La Cruz`` hold particles, not titles)."""
    words = _WORD.findall(span)[1:]
    return sum(w[:1].isupper() and not w.isupper() and w.lower() in _TITLE_WORDS for w in words) >= 2


# what a firm does, said right after its one-word name ("During 2001, Symcat invested heavily in ..."): verb
# phrases of business news; a person may invest too, so only a lone word that is no known name counts (the
# caller checks): "Maria Symons invested heavily" keeps Maria Symons; hand list
_FIRM_VERB = re.compile(
    r"[ \t]+(?:invested[ \t]+(?:heavily|billions|millions)|went[ \t]+(?:public|bankrupt)|filed[ \t]+for[ \t]+"
    r"bankruptcy|(?:has|had|was|is)[ \t]+(?:been[ \t]+)?(?:acquired|headquartered|listed|incorporated)[ \t]+(?:by|in|on)"
    r"|announced[ \t]+(?:its|their|record|quarterly|annual)|reported[ \t]+(?:record|quarterly|annual)[ \t]+"
    r"(?:revenue|profits?|earnings|losses|sales)|shares[ \t]+(?:rose|fell|jumped|dropped))\b", re.IGNORECASE)


def before_firm_verb(text: str, start: int, end: int) -> bool:
    """True if ``text[start:end]`` is one word followed by a verb phrase of business news (``Symcat invested
    heavily``, ``Acme went public``, ``Zorbit filed for bankruptcy``); the caller takes it only if the word is
    no known name (a person invests too)."""
    return len(_WORD.findall(text, start, end)) == 1 and _FIRM_VERB.match(text, end) is not None


_IS_FROM = re.compile(r"([^\W\d_][\w'’-]*)[ \t]+(?:is|was|are|were|am)[ \t]+from[ \t]+$", re.IGNORECASE)


def after_name_is_from(text: str, start: int, ordinary=lambda w: False) -> bool:
    """True if a name stands before ``is from`` right before ``start`` (``Alice Goldberg is from Golden Helix``,
    ``Peter is from Berkshire``): what a person is from is a firm or a place. The word before ``is`` must be no
    English word (``This is from John Smith``, ``the call was from Anna`` name people)."""
    m = _IS_FROM.search(text, max(0, start - 60), start)
    return m is not None and not ordinary(m.group(1).lower())


_ACRONYM = re.compile(r"\p{Lu}{4,5}")  # three capitals are often initials (JFK)


def reads_as_acronym(text: str, start: int, end: int, cased: bool, known=lambda w: False) -> bool:
    """True if ``text[start:end]`` is one word of four or five capitals, in text with capitals and lower case
    letters, and no known name (``known``): an acronym (``NATO`` atop an address, ``NATO invested``), while a
    shouted name of the lists stays (``Please pay SMITH``); three capitals are often a person's initials
    (``JFK``; WNUT-17 train tags ``Oh PEI ,`` a person)."""
    return cased and bool(_ACRONYM.fullmatch(text, start, end)) and not known(text[start:end])


_CAMEL_PART = re.compile(r"\p{Lu}?\p{Ll}+|\p{Lu}+(?!\p{Ll})")


# particles that open a surname written in camel case ("MacKay", "VanDyke", "FitzGerald"); hand list
_CAMEL_PARTICLES = frozenset("mac van von der den del della fitz".split())


def camel_compound(word: str, ordinary=lambda w: False, known=lambda w: False) -> bool:
    """True if ``word`` is written in camel case, a part of three or more letters that is no name particle and
    no known name (``known``) before an inner capital and an English word after it (``IdeaboxStore``,
    ``PlayStation``): a brand's or a channel's name; not ``McDonald``, ``LeBron``, ``DeShawn``, ``MacKay``,
    ``MacArthur``, ``MaryAnn`` (a particle or a name first, or a name after it). The caller drops known names."""
    parts = _CAMEL_PART.findall(word)
    if len(parts) < 2 or "".join(parts) != word or not word[:1].isupper() or not word[1:2].islower():
        return False
    first = parts[0]
    return (len(first) >= 3 and first.lower() not in _CAMEL_PARTICLES and not known(first)
            and len(parts[-1]) >= 2 and ordinary(parts[-1].lower()))

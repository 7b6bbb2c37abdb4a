"""The patterns ``lifecycle.claims`` reads single-valued facts with (see its docstring).

Each verb pattern follows a subject ("I", "we", "my sister", a name) and names its value
group ``value``; each "has" pattern reads "<my | Name's> <attribute> is <value>".
"""

from __future__ import annotations

import re

_NAME = r"[A-Z][\w'&.-]*(?: (?:of |de |van |von |la |le )?[A-Z][\w'&.-]*){0,3}"
_PLACE = r"(?P<value>(?:the )?" + _NAME + r")"
_RELATIVES = (
    r"(?:sister|brother|mom|mum|mother|dad|father|son|daughter|wife|husband|partner|"
    r"boyfriend|girlfriend|fianc[eé]e?|friend|best friend|boss|cousin|aunt|uncle|roommate|"
    r"grandma|grandmother|grandpa|grandfather|neighbou?r)"
)
_PARTNER = r"(?:partner|boyfriend|girlfriend|wife|husband|fianc[eé]e?|spouse|significant other)"
_SUBJECT = r"(?P<subject>I|We|we|[Mm]y " + _RELATIVES + r"(?: " + _NAME + r")?|" + _NAME + r")"
_ADV = r"(?:(?:now|currently|just|recently|finally|actually|officially|also|still) )*"
_THIRD = r"(?:s|es)?"

_BE = r"(?:'m |'re |'s | am | are | is | )"
_HAVE = r"(?:'ve |'s | have | has | was | )"
# (attribute, pattern after the subject) - each pattern names its value group ``value``
_VERB_PATTERNS: list[tuple[str, str]] = [
    ("home", _BE + _ADV + r"(?:lives?|living|resides?|residing|based) in " + _PLACE),
    (
        "home",
        _HAVE + _ADV + r"(?:moved|relocated) (?:back |over |out )?(?:here )?to " + _PLACE,
    ),
    ("workplace", _BE + _ADV + r"(?:works?|working) (?:at|for) " + _PLACE),
    (
        "workplace",
        _HAVE
        + _ADV
        + r"(?:started (?:working |a new job |my new job |a job )?(?:at|for|with)|joined|"
        r"got (?:a |the )?(?:new )?job (?:at|with)|landed (?:a |the )?(?:new )?job (?:at|with)|"
        r"accepted (?:a |an |the )?(?:new )?(?:job|offer|position) (?:at|with|from)|"
        r"got hired (?:at|by)|hired (?:at|by)) " + _PLACE,
    ),
    (
        "occupation",
        _BE
        + _ADV
        + r"(?:works?|working) as (?:a |an |the )?(?P<value>[a-z][a-z-]*(?: [a-z][a-z-]*){0,3}?)"
        r"(?=[.,;!]| at | for | in | and | but |$)",
    ),
    (
        "partner",
        _BE
        + _ADV
        + r"(?:dating|engaged to|married to|in a relationship with|going out with) "
        + r"(?P<value>"
        + _NAME
        + r")",
    ),
    (
        "partner",
        _HAVE
        + _ADV
        + r"(?:married|started dating|got engaged to|got married to) (?P<value>"
        + _NAME
        + r")",
    ),
    (
        "age",
        r"(?:'m |'re | am | is | are )"
        + _ADV
        + r"(?P<value>\d{1,3})(?: years old| yrs old)?(?: now)?(?=[.,;!]|$)",
    ),
    ("age", _HAVE + _ADV + r"turned (?P<value>\d{1,3})(?: years old)?(?=[.,;!]| today|$)"),
]
NOT_EMPLOYERS = {
    "club",
    "team",
    "group",
    "gym",
    "class",
    "choir",
    "band",
    "league",
    "society",
    "community",
    "church",
    "course",
    "program",
    "meetup",
    "party",
    "trip",
}
_POSSESSIVE = r"(?P<subject>[Mm]y|" + _NAME + r"'s)"
_EMAIL = r"(?P<value>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
_PHONE = r"(?P<value>\+?\d[\d ().-]{5,}\d)"
_GENERIC_ATTRIBUTES = (
    r"(?P<attribute>(?:first |last |middle |nick)?name|job|occupation|profession|job title|"
    r"birthday|age|address|home address|hometown|employer|salary|nationality|religion|major|"
    r"blood type|zip code|city|home city)"
)
_TAIL = r"(?P<value>[\w][\w' -]{0,40}?)(?=[.,;!]|\s+(?:and|but|because|since|now|so)\b|$)"
HAS_PATTERNS: list[tuple[str | None, re.Pattern[str]]] = [
    (
        "email",
        re.compile(
            r"\b" + _POSSESSIVE + r" (?:new |current |work |personal )?e-?mail(?: address)?"
            r" (?:is|has changed to|changed to) (?:now )?" + _EMAIL
        ),
    ),
    (
        "phone",
        re.compile(
            r"\b"
            + _POSSESSIVE
            + r" (?:new |current |cell |mobile |work )?(?:phone |cell |mobile )?"
            r"(?:number|phone) (?:is|has changed to|changed to) (?:now )?" + _PHONE
        ),
    ),
    (
        "partner",
        re.compile(
            r"\b" + _POSSESSIVE + r" (?:new )?" + _PARTNER + r"(?:'s name)? is (?:now )?"
            r"(?P<value>" + _NAME + r")(?=[.,;!]| and | but |$)"
        ),
    ),
    (
        None,  # "my favourite colour is green": the attribute is the named favourite
        re.compile(
            r"\b" + _POSSESSIVE + r" (?:new |current |all-time )?(?P<attribute>favou?rite "
            r"[a-z]+(?: [a-z]+)?) (?:is|has become|is now) (?:now |definitely |probably )?" + _TAIL
        ),
    ),
    (
        None,
        re.compile(
            r"\b"
            + _POSSESSIVE
            + r" (?:new |current )?"
            + _GENERIC_ATTRIBUTES
            + r" is (?:now )?"
            + _TAIL
        ),
    ),
]
FAVOURITE_FIRST = re.compile(
    r"(?:^|[.!;] )(?P<value>[A-Z][\w' -]{0,40}?) (?:is|are) (?:now |definitely )?"
    r"(?P<subject>my|" + _NAME + r"'s) (?:new |all-time )?(?P<attribute>favou?rite [a-z]+)\b"
)
PARTNER_FIRST = re.compile(
    r"(?:^|[.!;] )(?P<value>" + _NAME + r") is (?:now )?(?P<subject>my|" + _NAME + r"'s) "
    r"(?:new )?" + _PARTNER + r"\b"
)
SUBJECT_VERBS = [
    (attribute, re.compile(r"(?:^|(?<=[\s,;(]))" + _SUBJECT + tail))
    for attribute, tail in _VERB_PATTERNS
]

SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?=[^\s.!?]))+[.!?]*")
SKIP = re.compile(
    r"\b(?:not|n't|never|no longer|used to|would|wouldn't|could|might|should|if|"
    r"wish|wished|hope|hoped|hoping|want|wanted|wanna|dream|dreamed|dreaming|plan|planning|"
    r"planned|going to|gonna|will|'ll|next (?:week|month|year)|someday|one day|soon|"
    r"thinking (?:about|of)|considering|love to|like to|'d|maybe|perhaps|unless|when I was|"
    r"back then|until|pretend|imagine|whether|seeing)\b",
    re.I,
)
MAY = re.compile(r"\bmay\b")  # the verb, not the month
PAST_VERB = re.compile(r"\b(?:lived|worked|resided|was living|was working|were living)\b", re.I)
ARTICLES = re.compile(r"^(?:the|a|an|my|our)\s+", re.I)
SELF = {"i", "we", "my"}
PRONOUN_NAMES = {
    "he",
    "she",
    "they",
    "it",
    "you",
    "this",
    "that",
    "there",
    "here",
    "someone",
    "everyone",
    "nobody",
    "somebody",
}

"""Separate what the author wrote now from quoted history and signatures.

`split_reply(text)` returns (new_text, rest). The history starts at the first of:
  - an attribution line ("On … wrote:", "Vào … đã viết:", "Le … a écrit :", "Am … schrieb"),
    also when a mail client wrapped it over two or three lines;
  - an Outlook header block ("From: … / Sent: …", "Từ: … / Đã gửi: …") or an
    "-----Original Message-----" separator;
  - a run of ">" quoted lines (RFC 3676 section 4.5 quote marks).
A forwarded message ("---------- Forwarded message ---------") is not history: what was
forwarded is the substance of the mail, so it stays. The signature starts at the "-- "
delimiter (RFC 3676 section 4.3) or at a mobile client's "Sent from my …" line.
"""

from __future__ import annotations

import re

# The attribution's verb at the end, perhaps followed by ":" and a Zoho-style "----".
_ATTRIBUTION_VERBS_AT_END = ("wrote", "writes", "đã viết", "viết", "a écrit", "schrieb", "escribió", "ha scritto", "schreef", "geschreven",
                             "skrev", "napisał", "napisał(a)", "escreveu", "написал", "написала", "написали", "написав", "пишет", "пише",
                             "寫道", "写道")  # fmt: skip
# Matched on the reversed text, anchored at its start: a pattern anchored at the end ("…$") is
# tried at every position by `re`, 30 times slower on a line of ordinary text.
_ATTRIBUTION_END_REVERSED = re.compile(
    r"\s*-*\s*:?\s*(?:" + "|".join(re.escape(verb[::-1]) for verb in _ATTRIBUTION_VERBS_AT_END) + r"|>\s*etorw)",
    re.IGNORECASE,
)
# ... or the verb inside and the line ending in ":" ("X <x@y> schrieb am Fr., 28. Apr. 2017 um 11:53 Uhr:").
_ATTRIBUTION_VERB = re.compile(r"\b(wrote|schrieb|a écrit|escribió|ha scritto|schreef|skrev|napisał|escreveu|написал|đã viết)\b", re.IGNORECASE)
# ... or, after a date, the author's address and ":" ("2016-10-24 15:36 GMT+02:00 Foo <foo@bar>:").
_ADDRESS_COLON_END = re.compile(r"<\s*[^<>\s]+@[^\s]*>\s*:\s*$")
# Gmail's date-first attribution, even cut short: "2016-03-03 17:21 GMT+01:00 Some One".
_GMAIL_STAMP = re.compile(r"^\s*\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\s+\d{1,2}:\d{2}\s*GMT[+-]\d{1,2}:?\d{2}\s+\S")
# A date-first line that names an address and is followed by a quote ("2013/7/20 X <x@y>").
_DATED_ADDRESS = re.compile(r"^\s*\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b.*<[^<>\s]+@[^<>\s]+>\s*$")
_EMAIL_ADDRESS = re.compile(r"[\w.+\-]+@[\w\-]+\.[\w.\-]+")
_DIGIT = re.compile(r"\d")
_DATEISH = re.compile(r"\b(1[89]|20)\d{2}\b|\b\d{1,2}:\d{2}\b")
_ATTRIBUTION_START = re.compile(
    r"^\s*(On|Vào|Le|Am|El|Il|Op|Den|På|W dniu|Em|Dnia|\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\w+day|Thứ|Ngày|Chủ nhật|[\d年月日 ]+)\b",
    re.IGNORECASE,
)
_ORIGINAL_SEPARATOR = re.compile(
    r"^\s*\*?\s*(-{2,}\s*(Original Message|Tin nhắn gốc|Thư gốc|Message d'origine|Ursprüngliche Nachricht|Mensaje original|Messaggio originale|Oorspronkelijk bericht|Oryginalna wiadomość|Mensagem original|Исходное сообщение|原始邮件)\s*-{2,}|_{10,})\s*\*?\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\s*\*?(From|Từ|De|Da|Von|Van|Od|От|Från|Fra|发件人)\s*\*?\s*:", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\*?(Sent|Date|Đã gửi|Gửi|Ngày|Envoyé|Gesendet|Enviado|Inviato|Verzonden|Wysłano|Отправлено|Skickat|Sendt|To|Đến|Subject|Chủ đề|发送时间|Data|A|Oggetto|Risposta|Betreff|An|Objet|Asunto|Para)\s*\*?\s*:",
    re.IGNORECASE,
)
_FORWARDED = re.compile(r"^\s*-{3,}\s*(Forwarded message|Begin forwarded message|Thư được chuyển tiếp|Tin nhắn được chuyển tiếp)", re.IGNORECASE)
_SIGNATURE_DELIMITER = re.compile(r"^--\s?$")
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(Sent from my \w[\w\- ]{0,40}|Sent from (Yahoo|Mail|Outlook)\b.*|Get Outlook for \w+.*|Gửi từ (iPhone|điện thoại|Yahoo|Samsung|thiết bị)\b.*|Được gửi từ .*|Sent with .*|"
    r"Envoyé (de|depuis) mon \w[\w\- ]{0,40}|Von meinem .* gesendet|(Sendt fra min|Skickat från min|Enviado desde mi|Enviado do meu|Verstuurd vanaf mijn|Inviato dal mio) \w[\w\- ]{0,40})\s*$",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"^\s*>")


def _attribution_at(lines: list[str], index: int) -> int:
    """How many lines form an attribution starting at `index` (its first 1-4 non-blank lines
    within the next six: clients wrap and split it), or 0."""
    first = lines[index].strip()
    if not first or first[0] == ">":
        return 0
    starts = bool(_ATTRIBUTION_START.search(first))
    # Cheap tests first: most lines of a letter have no "@", "<" or digit. (Gmail's stamp and
    # the dated-address form both begin with a date, which _ATTRIBUTION_START accepts.)
    opens_like_attribution = (
        starts or "<" in first or ("@" in first and bool(_EMAIL_ADDRESS.search(first))) or (bool(_DIGIT.search(first)) and bool(_DATEISH.search(first)))
    )
    if not opens_like_attribution:
        return 0
    if _GMAIL_STAMP.match(first):
        return 1
    if _DATED_ADDRESS.match(first) and _quote_follows(lines, index + 1):
        return 1
    spans = [i for i in range(index, min(len(lines), index + 6)) if lines[i].strip()][:4]
    for count in range(1, len(spans) + 1):
        if count > 1 and _ATTRIBUTION_START.search(lines[spans[count - 1]]):
            break  # the attribution starts on that line, not here
        joined = " ".join(lines[i].strip() for i in spans[:count])
        if len(joined) >= 300:
            break
        ends_like_attribution = _ends_with_attribution_verb(joined) or (
            "@" in joined and joined.endswith(":") and (bool(_ATTRIBUTION_VERB.search(joined)) or (starts and bool(_ADDRESS_COLON_END.search(joined))))
        )
        if ends_like_attribution:
            return spans[count - 1] - index + 1
    # A truncated one at the very end: "Am 21.04.2016 17:48 schrieb "X" <x@example.com"
    rest = [line for line in lines[index + 1 :] if line.strip()]
    if starts and not rest and "@" in first and _ATTRIBUTION_VERB.search(first):
        return 1
    return 0


def _ends_with_attribution_verb(text: str) -> bool:
    return bool(_ATTRIBUTION_END_REVERSED.match(text[::-1]))


def _quote_follows(lines: list[str], index: int) -> bool:
    following = next((line for line in lines[index:] if line.strip()), "")
    return bool(_QUOTED.match(following) or following.lstrip().startswith("|"))


def _outlook_header_at(lines: list[str], index: int) -> bool:
    if not _HEADER_FROM.match(lines[index]):
        return False
    following = [line for line in lines[index + 1 : index + 6] if line.strip()]
    return sum(1 for line in following[:4] if _HEADER_NEXT.match(line)) >= 1


_LINE_MARKS = ("-", "_", "*", ">")


def history_start(lines: list[str]) -> int | None:
    """Index of the first line of quoted history, or None."""
    in_forward = False
    totals: list[tuple[int, int, bool]] = []  # built at the first '>' line
    for index, line in enumerate(lines):
        # A forward marker, a separator, a header and a quote all start with one of these
        # marks or hold a colon: most lines of a letter are ruled out without a regex.
        head = line.lstrip()[:1]
        marked = head in _LINE_MARKS or ":" in line
        if marked and _FORWARDED.match(line):
            in_forward = True  # a forwarded message's own headers are substance, not history
            continue
        if in_forward:
            continue
        if marked and _ORIGINAL_SEPARATOR.match(line):
            return index
        if marked and _outlook_header_at(lines, index):
            return index
        if _attribution_at(lines, index):
            return index
        if head == ">":
            totals = totals or _unquoted_totals(lines)
            if _quote_block_ahead(totals, index):
                return index
    return None


def _unquoted_totals(lines: list[str]) -> list[tuple[int, int, bool]]:
    """For each index: (count, total length, all signature-like) of the unquoted lines of
    substance from there to the end. One pass from the end, so a quote test per '>' line costs
    nothing more (one scan per '>' line made thousands of them quadratic, issue 12)."""
    totals = [(0, 0, True)] * (len(lines) + 1)
    count, length, all_signature = 0, 0, True
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        if line.strip() and not _QUOTED.match(line):
            count, length, all_signature = count + 1, length + len(line), all_signature and _is_signature_like(line)
        totals[index] = (count, length, all_signature)
    return totals


def _quote_block_ahead(totals: list[tuple[int, int, bool]], index: int) -> bool:
    """A '>' line starts history when no unquoted text of substance follows it."""
    count, length, all_signature = totals[index]
    return count <= 2 or length < 80 or all_signature


def _is_signature_like(line: str) -> bool:
    return bool(_MOBILE_SIGNATURE.match(line) or _SIGNATURE_DELIMITER.match(line))


def _after_leading_quote(lines: list[str]) -> list[str]:
    index = _attribution_at(lines, 0) or 0
    while index < len(lines) and (_QUOTED.match(lines[index]) or not lines[index].strip()):
        index += 1
    return lines[index:] if index < len(lines) and index > 0 else []


MAX_MOBILE_SIGNATURE = 80  # "Sent from my …" is a short line of its own, not a sentence


def signature_start(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        if _SIGNATURE_DELIMITER.match(line) or (len(line.strip()) <= MAX_MOBILE_SIGNATURE and _MOBILE_SIGNATURE.match(line)):
            return index
    return None


# Lines of rules only (a separator left above the cut history, Gmail's tracking mark "ᐧ").
_RULE_LINE = re.compile(r"^[\s\-_=*~—–·•ᐧ]*$")


def _drop_trailing_rules(lines: list[str]) -> list[str]:
    end = len(lines)
    while end > 0 and _RULE_LINE.match(lines[end - 1]):
        end -= 1
    return lines[:end]


def split_reply(text: str) -> tuple[str, str]:
    """(new text, quoted history and signature)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    cut = history_start(lines)
    if cut == 0:
        # Bottom-posting: the quote comes first and the new text after it.
        after = _after_leading_quote(lines)
        if after:
            lines, cut = after, history_start(after)
    body = lines if cut is None else lines[:cut]
    signature = signature_start(body)
    if signature is not None and signature > 0:
        body = body[:signature]
    # Inline replies: '>' lines left between new paragraphs are still quotes.
    kept = _drop_trailing_rules([line for line in body if not line.lstrip().startswith(">")])
    new_text = "\n".join(kept).strip()
    if not new_text:  # nothing but quotes: keep it all rather than lose the message
        return text.strip(), ""
    rest_start = len("\n".join(body))
    return new_text, text[rest_start:].strip()

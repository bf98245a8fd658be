"""Cancellation intent and its reason, by rules, in Japanese and English.

Rules rather than a model: an agent can read why a message was flagged (`Detection.matched`),
and the labelled corpus in `corpus/` keeps precision and recall measured (tests require ≥ 0.9).
A message is a cancellation request when it asks to end or stop the subscription or the account
(解約, 退会, 停止, 休止, やめたい, cancel, unsubscribe, stop my deliveries...), unless the phrase is
negated (解約ではなく, "I don't want to cancel") or hypothetical (いつでも解約できますか,
"can I cancel anytime?"). Stopping newsletters, cancelling one order and skipping one delivery
are not cancellation requests. Quoted replies are ignored so our own wording never flags.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# --- what counts as a cancellation request ------------------------------------------------------

_JA_POSITIVE = [
    r"解約", r"退会", r"休会",
    r"(定期|コース|契約|お届け|配送|発送|購入|便).{0,12}?(停止|休止|中止|解除|終了|ストップ|止め|とめ|やめ|辞め)",
    r"(停止|休止|中止|ストップ)(して|したい|したく|を希望|希望|をお願い|お願い|でお願い|にして|させて|します|で)",
    r"(一時|いったん|一旦)(停止|休止|中断|お休み)",
    r"(やめ|辞め|止め)(たい|たく|ます|させて|ようと|る事|ることに|てほしい|て欲しい|てください)",
    r"(送ら|届け|送ってこ|発送し)ないで",
    r"(もう|今後は?|次回(以降|から)は?|これ以上).{0,8}?(いらない|いりません|要らない|不要|結構|必要ありません|必要ない|届けなくて)",
    r"(しばらく|当分|数(ヶ|か|カ|ケ)月|[0-9一二三]+(ヶ|か|カ|ケ)月|一時的に|いったん|一旦).{0,10}?(お休み|止め|とめ)",
    r"(継続|続け)(を)?(しない|できない|られない|られそうにない|ない)",
    r"定期.{0,6}?キャンセル", r"キャンセル.{0,6}?定期",
]
_EN_POSITIVE = [
    r"\bcancel+(ing|ed|ation)?\b.{0,40}?\b(subscription|membership|plan|auto-?ship|auto-?delivery|"
    r"deliver(y|ies)|shipments?|account|order(s)? going forward|recurring|standing order|box(es)?)\b",
    r"\b(subscription|membership|plan|account)\b.{0,30}?\bcancel+(ed|led|ation)?\b",
    r"\bcancel+ (it|this|everything|all future)\b", r"\bplease cancel\s*$",
    r"\b(want|like|need|wish|have|going|decided|planning|trying|asked|asking) to cancel\b",
    r"^\s*(subject:|件名:)?\s*(subscription )?cancel+(ation)?( request)?\s*$",
    r"\bunsubscribe\b", r"\bopt(ing)? out of (the|my) (subscription|plan|program)\b",
    r"\bhow (do|can|would) i (cancel|unsubscribe|stop (it|this|the subscription|my subscription))\b",
    r"\bstop sending (me )?(it|them|this|these)\b",
    r"\bstop (my|the|all|future|these|your)? ?((monthly|weekly|regular|recurring|automatic) )?(subscription|deliver(y|ies)|shipments?|orders|boxes|"
    r"sending (me )?(the )?(product|products|boxes|packages|bottles|cream|supplements?|coffee|tea))",
    r"\b(end|terminate|discontinue|close|delete|quit|pause|suspend|hold)\b (my|the|our)? ?"
    r"((monthly|weekly|regular|recurring|automatic|next|future) )?"
    r"(subscription|membership|plan|account|deliver(y|ies)|auto-?ship)",
    r"\bput (my|the) (subscription|deliveries|plan) on hold\b",
    r"\b(don'?t|do not|no longer) (want|need) (it|this|the product|the subscription|this subscription|"
    r"my subscription|any more|"
    r"more deliveries|further deliveries)\b",
    r"\bdon'?t send (me )?any more\b", r"\bno (more|further) (deliveries|shipments|boxes)\b",
    r"\b(want|like|need|wish|ready|going|decided|have) to (quit|leave|stop)\b",
]

# --- what takes the request back -----------------------------------------------------------------

_NEGATIONS = [
    # Japanese negation follows the verb: 解約ではなく / 解約するつもりはありません / 解約せずに
    r"(解約|退会|停止|休止|やめ|辞め)(する|を)?(の)?(では|じゃ)(なく|ない|ありません)",
    r"(解約|退会|やめる|辞める|止める|停止)(する)?(つもり|予定|気)(は|も)(ない|なく|ありません|ございません)",
    r"(解約|退会)(は)?(せず|しない|しません|したくない|したくありません|しなくて)",
    r"(解約|退会|停止|休止)(の)?(件)?(は)?(取り消|撤回|やめにし|なしで)",
    # English negation precedes: "I don't want to cancel", "rather than cancel"
    r"(\bnot\b|n't\b|\bnever\b|\bno intention of\b|\bno plans? to\b|\brather than\b|\binstead of\b|\bwithout\b).{0,20}?"
    r"\b(cancel+(ing|ed|ation)?|unsubscrib(e|ing)|quit(ting)?|stop(ping)?)\b",
]
_HYPOTHETICAL = [
    r"いつでも.{0,10}?(解約|退会|停止|休止|やめ)",
    r"(解約|退会|停止|休止)(は)?(いつでも|何回目|何回|縛り|しばり)",
    r"(回数)?(縛り|しばり)",
    r"(申し込|申込|購入|注文)(む|する)?前",
    r"\bcan i (cancel|quit|stop|pause) (at )?any ?time\b", r"\bbefore (i|we) (sign|subscribe|order|buy)",
    r"\bis there a (minimum|contract|commitment)\b", r"\bif i (ever )?(want|need|decide) to cancel\b",
    r"\bhow many (deliveries|orders|times).{0,30}before.{0,20}cancel\b",
    r"\bif (i|we) (ever )?(travel|go away|move|need|want)\b", r"\bin the future\b",
]
# Thanks for a cancellation already done, or a customer who decided to stay.
_SETTLED = [
    r"(の件|について|いただき|して頂き|していただき).{0,12}?(ありがとう|承知|了解|確認しました)",
    r"\bthank(s| you)\b.{0,20}\bcancel", r"\b(i'?m|i am|we'?re|we are) (staying|keeping it|continuing)\b",
    r"(以前|前に|昔|一度).{0,6}?(解約|退会)(し|した).{0,20}?(再開|また|もう一度|再び)",
    r"続けることにしました|継続することにしました",
]
# Requests that look alike but are not about the subscription.
_NOT_SUBSCRIPTION = [
    r"(メール|メルマガ|ニュースレター|dm|広告|案内|配信|通知|lineの?メッセージ).{0,8}?(停止|解除|やめ|止め|不要|いらない|送らないで)",
    r"\b(newsletter|emails?|mailing list|marketing|promotions?|promotional|sms|texts?|notifications?)\b",
]
_NOT_SUBSCRIPTION_STRICT = re.compile(r"unsubscribe.{0,30}?\b(newsletter|emails?|mailing list|marketing|"
                                      r"promotions?|promotional|sms|notifications?)\b|"
                                      r"\b(newsletter|emails?|mailing list|marketing|promotions?|sms)\b.{0,30}?"
                                      r"(unsubscribe|stop|opt out)")

# --- the reason -----------------------------------------------------------------------------------

#: (reason, patterns), most specific first: the first reason that matches wins.
_REASONS: list[tuple[str, list[str]]] = [
    ("unsuitable", [
        r"(肌|体|からだ|身体|口|好み|体質)に合わ", r"合わな(い|かった|くて)", r"かゆ|痒|かぶれ|荒れ|湿疹|ヒリヒリ|赤く|ぶつぶつ|吹き出物|ニキビ|にきび|頭痛|吐き気",
        r"アレルギー|刺激が|胃(が|の)?(もたれ|痛)|お腹(が|を)?(壊|ゆる|くだ|痛)|気持ち悪く",
        r"(味|におい|匂い|臭い|香り|食感|テクスチャ)(が|は)?(苦手|きつ|合わ|好きでは|嫌)",
        r"\b(doesn'?t|didn'?t|does not|did not) (suit|agree with)\b", r"\birritat", r"\brash\b",
        r"\bbr(oke|eak(ing)?) out\b", r"\bbreakouts?\b", r"\ballerg", r"\b(skin )?reaction\b", r"\bitch",
        r"\b(don'?t|do not|didn'?t) (like|enjoy|care for) the (taste|smell|scent|texture|flavou?r)\b",
        r"\bupset (my )?stomach\b", r"\bstomach (ache|problems|issues)\b", r"\bnot (for|right for) me\b",
        r"\bmakes? me (feel )?(sick|nauseous|ill)\b", r"\bnause", r"\bheadaches?\b",
    ]),
    ("not_effective", [
        r"効果(を|が|は)?.{0,4}?(感じ|実感|なく|ない|出な|見え|わから|分から)", r"効(か|き)(ない|ません|目がない|なかった)",
        r"(変化|違い|改善)(が|は|を)?.{0,4}?(ない|なく|感じ|わから|見られ|ありません)", r"変わらない|変わりません|実感(が|でき)",
        r"\bnot (really )?(working|effective|helping)\b", r"\b(does|did|do) nothing\b", r"\b(doesn'?t|didn'?t|does not|did not) (seem to )?(work|help)\b",
        r"\b(no|zero) (noticeable |real |visible )?(effect|results?|difference|improvement|change)\b",
        r"何も変わら|変化な",
        r"\b(didn'?t|haven'?t|don'?t|did not|have not) (see|seen|notice|noticed|feel|felt) (any|much|a) "
        r"(difference|results?|improvement|change|effect|benefit)",
    ]),
    ("moving", [
        r"引っ越|引越|転居|転勤|海外赴任|移住|住所が変わ|実家に(戻|帰)", r"\bmov(e|ing) (abroad|overseas|house|to|away|out)\b",
        r"\brelocat", r"\bnew address\b", r"\bwe(?:'re| are) moving\b", r"\bi(?:'m| am) moving\b",
    ]),
    ("temporary", [
        r"旅行|出張|入院|手術|帰省|留守|不在に|長期(間)?(の)?(不在|出張|旅行|休暇)|妊娠|出産|産休|育休|療養",
        r"\btravel", r"\btrip\b", r"\bvacation\b", r"\bholiday\b", r"\bhospital", r"\bsurgery\b",
        r"\baway (for|until|from)\b", r"\bpregnan", r"\bmaternity\b", r"\bbusiness trip\b",
    ]),
    ("surplus", [
        r"余(っ|り|る|ら)|たま(っ|る|り)|未開封|溜ま|使い切れ|使いきれ|消費(し)?(きれ|切れ)|飲み(きれ|切れ)|食べ(きれ|切れ)|在庫|ストック|減らな|残って|まだ(たくさん|沢山|何個|何本|\d+(袋|個|本|箱))|追いつかな",
        r"\bpil(e|ing) up\b", r"\btoo (much|many)\b(?! (for (my|me|the|our) (budget|wallet)|money))", r"\b(plenty|lots|enough|loads) (left|of it left|at home)\b",
        r"\bstill have\b", r"\bcan'?t (use|finish|drink|eat|keep up)", r"\bstockpil", r"\bsurplus\b",
        r"\bbacklog\b", r"\b(cupboard|fridge|shelf|drawer|pantry) is full\b", r"前回(分|の分)?(が|も)?(まだ|半分)", r"\bhaven'?t (even )?(finished|used up|opened)\b", r"\bunopened\b", r"\bfaster than\b",
    ]),
    ("price", [
        r"高い|高く|高すぎ|割高|値段|価格|金額|費用|料金|出費|家計|経済的|節約|お金|値上げ|払え|負担|余裕がな|安い",
        r"\bexpensive\b", r"\bprice", r"\bcost", r"\bafford", r"\bbudget\b", r"\bmoney\b", r"\bcheaper\b",
        r"\bpricey\b", r"\blost my job\b", r"\bunemployed\b", r"仕事を辞め|失業|収入が", r"\bspend(ing)? less\b", r"\btight\b",
    ]),
    # A pause asked for without a stronger reason is a temporary stop.
    ("temporary", [
        r"しばらく|一時的|当分|一時(停止|休止)|いったん|一旦|数(ヶ|か|カ|ケ)月|(休止|お休み)",
        r"\btemporar", r"\bfor a (while|bit|few (weeks|months))\b", r"\bfor now\b",
        r"\b(a|one|two|three|couple of|few) (weeks?|months?) (off|break)\b", r"\bpause\b", r"\bon hold\b",
        r"\bsuspend", r"\bhold my\b", r"\bfor the time being\b",
    ]),
]

_QUOTE_MARKERS = re.compile(
    r"^(-{2,}\s*original message|-{2,}\s*元のメッセージ|on .{0,80} wrote:|.{0,40}\d{4}年\d{1,2}月\d{1,2}日.{0,60}(書きました|wrote)|"
    r"from: .+|差出人: .+)", re.IGNORECASE)


@dataclass(frozen=True)
class Detection:
    is_cancellation: bool
    reason: str | None = None
    #: The phrases that decided it, for the agent (and the Event).
    matched: tuple[str, ...] = field(default_factory=tuple)
    lang: str = "ja"


def _compile(patterns: list[str]) -> list[re.Pattern]:
    return [re.compile(p, re.IGNORECASE) for p in patterns]


_POS = _compile(_JA_POSITIVE + _EN_POSITIVE)
_NEG = _compile(_NEGATIONS)
_HYPO = _compile(_HYPOTHETICAL)
_SETTLE = _compile(_SETTLED)
_NOT_SUB = _compile(_NOT_SUBSCRIPTION)
_REASON_RES = [(reason, _compile(patterns)) for reason, patterns in _REASONS]
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_SENTENCE = re.compile(r"[。．.!?！？\n]+")
_TAKE_BACK = _NEG + _HYPO + _SETTLE
_NAMES_SUBSCRIPTION = re.compile(r"定期|コース|お届け|配送|商品|subscription|deliver|shipment|membership|plan\b")


def clean(text: str) -> str:
    """NFKC, lower case, quoted history removed (our own earlier replies must not count)."""
    lines = []
    for line in unicodedata.normalize("NFKC", text or "").splitlines():
        stripped = line.strip()
        if _QUOTE_MARKERS.match(stripped):
            break
        if stripped.startswith((">", "＞", "|")):
            continue
        lines.append(stripped)
    return "\n".join(lines).lower()


def language(text: str) -> str:
    return "ja" if _JAPANESE.search(text or "") else "en"


def _sentence_is_request(sentence: str) -> str | None:
    """The matched phrase when this sentence asks to cancel (not negated, not hypothetical)."""
    hit = next((m for p in _POS if (m := p.search(sentence))), None)
    if hit is None:
        return None
    if any(p.search(sentence) for p in _TAKE_BACK):
        return None
    if _NOT_SUBSCRIPTION_STRICT.search(sentence):
        return None
    if any(p.search(sentence) for p in _NOT_SUB):
        # "stop the newsletter" — unless the sentence also names the subscription itself.
        if not _NAMES_SUBSCRIPTION.search(sentence):
            return None
    return hit.group(0)


def detect_reason(text: str) -> str:
    body = clean(text)
    for reason, patterns in _REASON_RES:
        if any(p.search(body) for p in patterns):
            return reason
    return "other"


def detect(text: str, subject: str = "") -> Detection:
    """Is this inbound message a cancellation request, and why?"""
    body = clean(f"{subject}\n{text}" if subject else text)
    matched = []
    for sentence in _SENTENCE.split(body):
        phrase = _sentence_is_request(sentence)
        if phrase:
            matched.append(phrase)
    lang = language(text or subject)
    if not matched:
        return Detection(False, lang=lang)
    return Detection(True, detect_reason(f"{subject}\n{text}"), tuple(dict.fromkeys(matched)), lang)

"""The phrase rules of cancellation intent: what an agent reads as "why it was flagged".

Rules alone were tuned to the phrasing they were written with (precision 0.73 / recall 0.71 on an
unseen set), so they no longer decide alone: `rule_features` hands the model (intent_model.py)
which families of phrases a message hits, and `matched_phrases` gives the agent the phrases.
A sentence asks to end or stop the subscription (解約, 退会, 停止, やめたい, cancel...) unless the
phrase is negated (解約ではなく, "I don't want to cancel") or hypothetical (いつでも解約できますか).
Quoted replies are removed first so our own wording never counts.
"""
from __future__ import annotations

import re
import unicodedata

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
        r"医者|医師|主治医|ドクター|(病院|かかりつけ)の先生|持病|治療|服薬|薬を飲|喘息|ぜんそく|胃の不快|体調を崩|真っ赤|気分が悪",
        r"\bdoctor\b|\bmedication\b|\bhealth (issues|problems|reasons)\b",
    ]),
    ("not_effective", [r"効果(が|は)?(ゼロ|なかった|なし|無し)|体感(が)?(なし|ない|ゼロ)", r"\bzero results\b|\bnot doing anything\b"]),
    # Money said outright, and competitors, before "too much" can read as surplus.
    ("price", [
        r"値上げ|値上が|金欠|収入(が)?減|教育費|経費削減|乗り換え|他社|他のお店|別の(会社|メーカー|お店)|半額|お手頃|送料が",
        r"\bprice (increase|rise|went up)\b|\bnew pricing\b|\bcompetitor\b|\bswitch(ing|ed)? (to (a |another )?(cheaper|different)|providers|brands?)\b",
        r"\bcutting back\b|\bcan'?t afford\b|\bmoney'?s? (is )?tight\b",
    ]),
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
    r"from: .+|差出人: .+|\d{4}[年/]\d{1,2}[月/]\d{1,2}日?.{0,80}[:：]$|.{0,80}<[^>\s]+@[^>\s]+>.{0,20}[:：]$|.{0,120}wrote:$)",
    re.IGNORECASE)


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




# --- families of phrases the model weighs (features), beyond the request rules above ------------------

#: name -> patterns, matched on the cleaned text; each family is one feature of the model.
FAMILIES: dict[str, list[str]] = {
    "indirect": [r"これ(で|っきり)(最後|終わり|おしまい)", r"(最後|ラスト|終わり|おしまい)に(し|させ)", r"卒業",
                 r"辞退", r"お断り", r"(もう|今後は?|次(回|の便)?(から|以降)は?).{0,10}?(結構|いらな|いりません|不要|大丈夫|必要(あり|な))",
                 r"(送ら|届け|送ってこ|発送し|届かない)(ない|なく)", r"見合わせ", r"(契約|定期|サブスク).{0,6}?(終わり|おしまい|整理|打ち切)",
                 r"\b(last|final) (one|box|delivery|shipment)\b(?! (arrived|was|came))", r"\bno (more|further)\b", r"\bdone with\b",
                 r"\b(i'?m|i am) (out|done)\b", r"\bwant out\b", r"\bgraduat", r"\bgoodbye\b|\bbye\b", r"\bwind down\b",
                 r"\bnot (be )?continu", r"\bwon'?t be continu", r"\b(don'?t|do not) renew\b", r"\bfor good\b",
                 r"\bno longer (wish|want|need)\b", r"\bshut (it|this) down\b", r"\btake me off\b", r"\bopt out of (any )?future\b"],
    "pause": [r"しばらく|当分|一時|いったん|一旦|休止|お休み|おやすみ|保留", r"[0-9一二三四五六半]+ ?(ヶ|か|カ|ケ|ｹ)?月",
              r"(まで|あいだ|間)(は|の間)?.{0,8}?(止め|とめ|休|ストップ|停止|見合わせ|見送)", r"落ち着", r"再開(は|の時|する時|するとき|時期)",
              r"\b(pause|hold|suspend|freeze|break)\b", r"\buntil\b", r"\bfor (a while|now|the time being|\w+ (weeks|months))\b",
              r"\b(two|three|couple|few) (deliveries|shipments|months)\b"],
    "skip": [r"(次回|今回|今月|来月|次の便?|[0-9一]+回|1回|一回|[0-9]+月)(分)?(の(お届け|発送|便))?(だけ|のみ)", r"スキップ|すきっぷ|パス",
             r"その(次|後)(から)?は.{0,6}(通常|いつも)", r"以降は.{0,4}(通常|継続|いつも)",
             r"\bskip\b", r"\b(just|only) (the )?(one|next|this)\b", r"\bone-?time\b", r"\b(as normal|as usual) after\b"],
    "resume": [r"再開(し|を|して|希望|お願い|処理)", r"また(始め|届け|送っ|お願い)", r"もう一度(申し込|定期)", r"再申し込",
               r"続けることに", r"継続(する|される|のご意向|希望)", r"\b(restart|resume|sign up again|start again|re-?subscribe)\b",
               r"\b(stay|staying|keep (it|my plan|my subscription))\b"],
    "threat": [r"(たら|なら|ようなら|場合は|ようでしたら).{0,12}?(解約|やめ|退会|続けられ)", r"\bif\b.{0,50}\b(cancel|i'?m out|quit)",
               r"\bone more\b.{0,30}\b(cancel|out)\b", r"\bor i'?ll\b.{0,20}\bcancel"],
    "question": [r"(解約|退会|休止|停止|やめ|スキップ).{0,20}?(ますか|ですか|でしょうか|可能|できる|\?)", r"縛り|しばり|違約金|手数料|締め切り|期限",
                 r"(申し込|申込|始める|検討).{0,6}?(前|迷)", r"(もし|いざ|今後もし|将来)", r"\b(can|how do) i\b.{0,30}\?",
                 r"\bbefore i sign\b", r"\b(minimum|deadline|commitment|fee)\b", r"\bif i ever\b"],
    "note_not": [r"(解約|退会)(の)?(意思|希望|予定|話)(は)?(なし|ない|出ず)", r"解約(を)?希望(され)?(てい)?ない", r"解約ではなく",
                 r"やめるつもりはない", r"継続", r"\b(does not|doesn'?t|not) want to cancel\b", r"\bno intention\b", r"\bnot cancel"],
    "optout": [r"メルマガ|ニュースレター|dm|ダイレクトメール|カタログ|チラシ|営業|勧誘|通知|お知らせ|ポイント(クラブ|会員)|明細|line|sms|郵送|郵便",
               r"\b(newsletter|emails?|catalog(ue)?s?|sales calls?|points club|loyalty|marketing|paper)\b"],
    "stop_other": [r"配送業者|業者|台風|大雪|天候|フォーム|カード|口座|アプリ|メンテナンス|営業所",
                   r"\b(carrier|storm|card|bank|form|website)\b"],
    "family": [r"母|父|主人|夫|妻|祖母|祖父|息子|娘|家族|代理|代わり|名義|他界|亡くな",
               r"\b(on behalf|my (mother|mom|father|dad|husband|wife|son|daughter)|passed away|died)\b"],
    "single_order": [r"(単品|注文番号|注文した|間違えて).{0,20}?キャンセル", r"\border #?\d+", r"\bordered (twice|the wrong)\b"],
}
_FAMILY_RES = {name: _compile(patterns) for name, patterns in FAMILIES.items()}
FEATURE_NAMES = ["request", "request_raw", "taken_back", "not_subscription", *FAMILIES]


def rule_features(body: str) -> list[float]:
    """One value per FEATURE_NAMES for a cleaned text (see `clean`)."""
    sentences = [s for s in _SENTENCE.split(body) if s.strip()]
    request = any(_sentence_is_request(s) for s in sentences)
    raw = any(p.search(body) for p in _POS)
    taken_back = any(p.search(body) for p in _TAKE_BACK)
    not_sub = any(p.search(body) for p in _NOT_SUB)
    return [float(request), float(raw), float(taken_back), float(not_sub),
            *(float(any(p.search(body) for p in pats)) for pats in _FAMILY_RES.values())]


def rule_says_request(body: str) -> bool:
    """The old rules' verdict on a cleaned text: some sentence asks to cancel or stop."""
    return any(_sentence_is_request(s) for s in _SENTENCE.split(body))


def matched_phrases(body: str, families: tuple[str, ...] = ("indirect", "pause", "skip")) -> tuple[str, ...]:
    """The phrases an agent reads: the request rules' hits first, then the named families'."""
    found = [phrase for s in _SENTENCE.split(body) if (phrase := _sentence_is_request(s))]
    for name in families:
        for pattern in _FAMILY_RES[name]:
            if (m := pattern.search(body)) and m.group(0).strip():
                found.append(m.group(0).strip())
    return tuple(dict.fromkeys(found))

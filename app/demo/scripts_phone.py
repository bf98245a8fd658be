"""Demo conversations by phone: the call notes agents write while (or after) talking."""
from __future__ import annotations

from app.demo.steps import ACT, ASSIGN, CALL, DAY, HOUR, NOTE, STATUS, Script

SCRIPTS = (
    Script("call-skip", "phone", "sub", tags=("スキップ",), steps=(
        CALL("""お客様より電話。次回お届けを1回スキップしたいとのこと。
前回分がまだ半分ほど残っている。
→ {skipped}発送分をスキップで承った。次回は{next_after_skip}発送とご案内。"""),
        ACT("skip", wait=(3, 10)),
        STATUS("solved", wait=(2, 10)),
    )),
    Script("call-cancel-kept", "phone", "sub", families=("aojiru", "lactic"), tags=("解約", "休止"),
           priority="high", steps=(
        CALL("""解約希望のお電話。理由：商品が余っている（{leftover}ほど）。
休止をご提案したところ、2か月休止でご了承いただいた。{paused_until}から再開。"""),
        ACT("pause", 60, wait=(3, 10)),
        STATUS("solved", wait=(2, 10)),
    )),
    Script("call-cancel", "phone", "sub", tags=("解約",), priority="high", steps=(
        CALL("""定期解約のお電話。理由：効果を感じない。
周期の変更もご案内したが、解約のご意思が固いため解約手続きを実施。
最後のお届けは{last_ship}発送分。"""),
        ACT("cancel", "効果を感じない", wait=(3, 10)),
        STATUS("solved", wait=(2, 10)),
    )),
    Script("call-redelivery", "phone", "order", tags=("配送",), order_days=(1, 4), steps=(
        CALL("""不在票が入っていたが、再配達の依頼方法がわからないとのこと。
配送業者の再配達受付の番号と、お問い合わせ伝票番号（{tracking}）をお伝えした。"""),
        STATUS("solved", wait=(2, 10)),
    )),
    Script("call-howto", "phone", "customer", families=("aojiru",), steps=(
        CALL("""ご高齢のお客様。{product}の飲み方についてご質問。
1日1包を水や牛乳100mlほどに溶かして、とご案内。
冷たい牛乳だと溶けにくいので、少量のぬるま湯で溶いてから足すとよいとお伝えした。"""),
        STATUS("solved", wait=(2, 10)),
    )),
    Script("call-leak", "phone", "order", families=("lotion", "serum"), tags=("初期不良",), priority="high",
           order_days=(1, 3), steps=(
        CALL("""届いた{product}の容器から中身が漏れていたとのこと（初期不良）。
交換品を本日発送する旨お伝えした。写真はメールで送っていただく。"""),
        NOTE("配送中の破損の可能性あり。物流センターに梱包の確認を依頼済み。", agent="sup", wait=(30, 3 * HOUR)),
        CALL("交換品が届いたとのお電話。今度は問題なし。丁寧にお礼をいただいた。", wait=(2 * DAY, 3 * DAY)),
        STATUS("solved", wait=(2, 20)),
    )),
    Script("call-family", "phone", "sub", tags=("休止",), steps=(
        CALL("""ご家族（娘様）よりお電話。お客様が入院されたため、定期便を止めたいとのこと。
ご本人様のご了承を確認のうえ、3か月休止で承った（{paused_until}まで）。
退院が延びる場合は、またご連絡いただくことに。"""),
        ACT("pause", 90, wait=(3, 10)),
        STATUS("solved", wait=(2, 10)),
    )),
    Script("call-voicemail", "phone", "sub", tags=("スキップ",), steps=(
        CALL("留守番電話：「{sei}です。定期便のことで相談したいので、折り返しお電話ください。」", answered=False),
        ASSIGN(wait=(20, 2 * HOUR)),
        NOTE("折り返したが不在。明日の午前中にもう一度かける。", wait=(10, 2 * HOUR)),
        CALL("お客様より折り返し。前回分が残っているため次回を1回スキップしたいとのこと。{skipped}発送分をスキップ、次回は{next_after_skip}発送。",
             wait=(16 * HOUR, DAY)),
        ACT("skip", wait=(3, 10)),
        STATUS("solved", wait=(2, 10)),
    )),
)

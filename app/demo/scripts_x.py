"""Demo conversations on X: public mentions, answered in public and moved to DM for details."""
from __future__ import annotations

from app.demo.steps import ACT, ASSIGN, DAY, HOUR, IN, NOTE, OUT, STATUS, Script

SCRIPTS = (
    Script("x-praise", "x", "customer", families=("aojiru", "lactic"), min_deliveries=2, tags=("お褒め",),
           priority="low", steps=(
        IN("@{shop} 毎朝飲んでます！{product_short}、クセがなくて続けやすい🍵 もうすぐ{months}か月"),
        OUT("{handle} うれしいお言葉をありがとうございます！これからも毎朝の一杯にお役立ていただけたら幸いです🌿",
            then="solved", wait=(HOUR, 8 * HOUR)),
    )),
    Script("x-praise-skin", "x", "customer", families=("lotion", "serum"), tags=("お褒め",), priority="low", steps=(
        IN("@{shop} の{product_short}、乾燥する季節でも夕方まで肌がしっとり。リピ確定です✨"),
        NOTE("ポジティブな投稿。いいねのみで返信は不要。", wait=(HOUR, 6 * HOUR)),
        STATUS("solved", wait=(1, 5)),
    )),
    Script("x-not-arrived", "x", "order", tags=("配送",), priority="high", order_days=(4, 8), steps=(
        IN("@{shop} 発送メールが来てからもう{late_days}日経つのに、まだ届かないんですが…"),
        OUT("{handle} ご不便をおかけし申し訳ございません。お調べいたしますので、お手数ですがDMにてご注文番号をお知らせいただけますでしょうか。",
            wait=(20, 2 * HOUR)),
        IN("@{shop} DM送りました", wait=(30, 3 * HOUR)),
        NOTE("DMで注文番号 {order_no} を確認。悪天候による配送遅延。明日午前中にお届けの見込み（伝票番号 {tracking}）。"),
        OUT("{handle} DMにてご連絡いたしました。お待たせしてしまい申し訳ございません。", wait=(5, 30)),
        IN("@{shop} 無事届きました！対応ありがとうございました", wait=(DAY, 2 * DAY)),
        STATUS("solved", wait=(30, 4 * HOUR)),
    )),
    Script("x-cancel", "x", "sub", tags=("解約",), priority="high", steps=(
        IN("@{shop} 定期の解約ってどうやるの？電話が全然つながらないんだけど"),
        ASSIGN(by_supervisor=True, wait=(10, HOUR)),
        OUT("{handle} お電話がつながりにくく、申し訳ございません。解約はマイページからいつでもお手続きいただけます。DMでも承りますので、お気軽にお送りください。",
            wait=(10, 90)),
        IN("@{shop} DMしました。解約お願いします", wait=(HOUR, 6 * HOUR)),
        NOTE("DMで会員番号 {customer_no} とご本人様確認済み。理由は「商品が余っている」。スキップもご案内したが解約希望。"),
        ACT("cancel", "商品が余っている"),
        OUT("{handle} 解約のお手続きが完了しました。詳細はDMにてお送りしております。これまでご利用いただき、ありがとうございました。",
            then="solved", wait=(2, 15)),
    )),
    Script("x-defective", "x", "order", families=("lotion", "serum"), tags=("初期不良",), priority="high",
           order_days=(1, 3), steps=(
        IN("届いた{product_short}のポンプが壊れてた…中身が出てこない😢 @{shop}"),
        OUT("{handle} 大変申し訳ございません。すぐに交換品をお送りいたします。お届け先の確認のため、DMをお送りしてもよろしいでしょうか。",
            wait=(20, 3 * HOUR)),
        IN("@{shop} お願いします", wait=(30, 4 * HOUR)),
        NOTE("DMで住所確認。交換品を発送（伝票番号 {tracking}）。"),
        IN("@{shop} 交換品届きました、ありがとうございます！", wait=(DAY, 2 * DAY)),
        STATUS("solved", wait=(30, 3 * HOUR)),
    )),
    Script("x-question", "x", "stranger", steps=(
        IN("@{shop} 青汁が気になっているのですが、妊娠中でも飲めますか？"),
        OUT("{handle} お問い合わせありがとうございます。原材料は国産大麦若葉100%ですが、念のためかかりつけの医師にご相談のうえお召し上がりください。",
            then="solved", wait=(HOUR, 6 * HOUR)),
    )),
    Script("x-english", "x", "stranger", lang="en", tags=("英語",), steps=(
        IN("@{shop} Hi! Do you ship your aojiru to {country}? My mom loves it 😊"),
        OUT("{handle} Thank you for your message! We currently ship only within Japan, but we'd be glad to deliver to an address there.",
            then="solved", wait=(2 * HOUR, DAY)),
    )),
)

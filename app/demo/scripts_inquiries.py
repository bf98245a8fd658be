"""Demo conversations by email that are not about changing the subscription: delivery trouble,
defects, questions before buying, card and receipt requests, thanks."""
from __future__ import annotations

from app.demo.steps import ASSIGN, DAY, HOUR, IN, NOTE, OUT, STATUS, Script

_SKIN = ("lotion", "serum")

SCRIPTS = (
    Script("mail-when", "email", "sub", tags=("配送",), steps=(
        IN("""次の定期便はいつ頃届きますか？
{travel}は旅行で家にいないので心配です。""", subject="次回のお届け日を教えてください"),
        OUT("""{sei}様

お問い合わせありがとうございます。みどり堂の{agent_sei}でございます。
次回の{product}は{next_ship}に発送予定で、通常1〜2日でお届けいたします。
ご旅行と重なるようでしたら、お届け日の変更も承りますのでお知らせください。

{signature}""", then="solved"),
    )),
    Script("mail-not-arrived", "email", "order", tags=("配送",), priority="urgent", order_days=(4, 9), steps=(
        IN("""{order_date}に注文した商品（注文番号 {order_no}）がまだ届きません。
いつ届くのでしょうか。""", subject="商品が届きません", wait=(0, 0)),
        ASSIGN(by_supervisor=True),
        NOTE("配送業者に確認。住所の番地表記に不備があり、配達店で保管中とのこと。再配達を依頼済み。"),
        OUT("""{sei}様

ご不便をおかけし、大変申し訳ございません。みどり堂の{agent_sei}でございます。
配送業者に確認いたしましたところ、ご住所の番地の表記に不備があり、配達店で保管されておりました。
本日中の再配達を手配いたしました（お問い合わせ伝票番号：{tracking}）。

お手数ですが、お受け取りになりましたらご一報いただけますと幸いです。

{signature}"""),
        IN("今日受け取りました。ありがとうございました。", subject="Re: 商品が届きません"),
        STATUS("solved"),
    )),
    Script("mail-defective", "email", "order", families=_SKIN, tags=("初期不良",), priority="high",
           order_days=(1, 4), steps=(
        IN("""本日届いた{product}ですが、ポンプを押しても中身が出てきません。
初期不良ではないでしょうか。写真が必要でしたらお送りします。""", subject="届いた化粧水のポンプが壊れています"),
        ASSIGN(),
        OUT("""{sei}様

この度はご迷惑をおかけし、大変申し訳ございません。みどり堂の{agent_sei}でございます。
初期不良と思われますので、新しい商品を本日発送いたしました（お問い合わせ伝票番号：{tracking}）。
お手元の商品は、お手数ですが破棄していただいて構いません。

{signature}"""),
        NOTE("ロット{lot}のポンプ不良、今月2件目。品質管理に共有済み。", agent="sup"),
        IN("交換品が届きました。すぐに対応していただき、ありがとうございました。", subject="Re: 届いた化粧水のポンプが壊れています",
           wait=(DAY, 2 * DAY)),
        STATUS("solved"),
    )),
    Script("mail-praise", "email", "customer", min_deliveries=3, tags=("お褒め",), priority="low", steps=(
        IN("""{praise}
これからも続けます。スタッフの皆さん、いつもありがとうございます。

{name}""", subject="いつもありがとうございます"),
        OUT("""{sei}様

うれしいお便りをありがとうございます！みどり堂の{agent_sei}でございます。
スタッフ一同、大変励みになります。
これからも{product}を安心してお使いいただけるよう努めてまいります。

{signature}""", then="solved", wait=(2 * HOUR, DAY)),
    )),
    Script("mail-trial", "email", "stranger", steps=(
        IN("""はじめまして。青汁に興味があるのですが、定期購入の前にお試しできるサイズはありますか？
また、定期購入はいつでも解約できますか？""", subject="お試しについて"),
        OUT("""{sei}様

お問い合わせありがとうございます。みどり堂の{agent_sei}でございます。

国産大麦若葉の青汁には、7包入りのお試しサイズ（980円・税込）がございます。
定期便はお届け回数の縛りがなく、いつでもお電話・メール・マイページから解約やお休みができます。

ぜひお気軽にお試しください。

{signature}"""),
        IN("ありがとうございます。お試しから申し込んでみます。", subject="Re: お試しについて"),
        STATUS("solved"),
    )),
    Script("mail-pregnant", "email", "stranger", steps=(
        IN("""現在妊娠5か月です。
乳酸菌サプリメントは妊娠中に飲んでも大丈夫でしょうか。""", subject="妊娠中の摂取について"),
        ASSIGN(),
        OUT("""{sei}様

お問い合わせありがとうございます。みどり堂の{agent_sei}でございます。
乳酸菌サプリメントは食品ですので、妊娠中の方にもお召し上がりいただいております。
ただ、体調に変化の出やすい時期ですので、念のためかかりつけの医師にご相談のうえお召し上がりください。
原材料の一覧を添えてご相談いただくと安心です。

{signature}""", then="solved"),
    )),
    Script("mail-overseas", "email", "stranger", lang="en", tags=("英語",), steps=(
        IN("""Hello,

I live in {country} and a friend recommended your barley grass aojiru.
Do you ship overseas? If so, how much is shipping?

Best regards,
{name}""", subject="Shipping to {country}?"),
        OUT("""Dear {name},

Thank you for your interest in our aojiru!
I'm sorry to say that we currently ship only within Japan.
If you have a friend or family member in Japan, we would be happy to deliver to their address.

Best regards,
{signature_en}""", then="solved", wait=(3 * HOUR, DAY)),
    )),
    Script("mail-card", "email", "customer", steps=(
        IN("""カードの有効期限が切れるので、登録しているクレジットカードを変更したいです。
どこから変更できますか？""", subject="クレジットカードの変更方法"),
        OUT("""{sei}様

お問い合わせありがとうございます。みどり堂の{agent_sei}でございます。
ご登録のクレジットカードは、マイページの「お支払い方法」からいつでも変更いただけます。
次回のお届け日の5日前までに変更いただければ、次回分から新しいカードでのお支払いとなります。

{signature}""", then="solved"),
    )),
    Script("mail-receipt", "email", "order", order_days=(5, 30), steps=(
        IN("""{order_date}の注文分（注文番号 {order_no}）の領収書を発行していただけますか。
宛名は「{receipt_to}」でお願いします。""", subject="領収書の発行をお願いします"),
        NOTE("宛名「{receipt_to}」で領収書PDFを作成して送付。"),
        OUT("""{sei}様

お問い合わせありがとうございます。みどり堂の{agent_sei}でございます。
ご注文番号 {order_no} の領収書（宛名：{receipt_to}）をPDFにてお送りいたします。
今後はマイページの注文履歴からもダウンロードいただけます。

{signature}""", then="solved"),
    )),
)

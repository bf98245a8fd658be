"""Demo conversations by email about the subscription itself: cancel, pause, skip, cycle, moving."""
from __future__ import annotations

from app.demo.steps import ACT, ASSIGN, DAY, HOUR, IN, NOTE, OUT, Script

_DRINKS = ("aojiru", "lactic")
_SKIN = ("lotion", "serum")

SCRIPTS = (
    Script("mail-cancel-leftover", "email", "sub", families=_DRINKS, tags=("解約",), priority="high", steps=(
        IN("""お世話になっております。{sei}です。

定期便で{product}を購入していますが、飲むのが追いつかず、家に{leftover}ほど余ってしまっています。
申し訳ないのですが、定期便を解約させてください。

よろしくお願いいたします。
{name}""", subject="定期便の解約について"),
        ASSIGN(by_supervisor=True),
        NOTE("定期{deliveries}回目のお客様。余っているのが理由なので、解約の前に休止とスキップをご案内する。"),
        OUT("""{sei}様

いつも{product}をご愛用いただき、誠にありがとうございます。
みどり堂お客様サポートの{agent_sei}でございます。

お手元に商品が余ってしまっているとのこと、ご不便をおかけしております。
解約のお手続きはもちろん承りますが、よろしければ次の方法もお選びいただけます。

・次回のお届けを1回お休み（スキップ）する
・定期便を1〜3か月休止する
・お届け周期を{cycle}日ごとから60日ごとに延ばす

ご希望をお知らせいただけましたら、すぐにお手続きいたします。
このまま解約をご希望の場合も、その旨ご返信ください。

{signature}"""),
        IN("""{agent_sei}様

ご丁寧にありがとうございます。
それでは解約ではなく、2か月休止でお願いします。

{name}""", subject="Re: 定期便の解約について"),
        ACT("pause", 60),
        OUT("""{sei}様

ご返信ありがとうございます。
定期便を{paused_until}まで休止するお手続きが完了いたしました。
{paused_until}に次回分を発送し、以降はこれまでどおり{cycle}日ごとにお届けいたします。

再開の前にメールでお知らせいたしますので、ご安心ください。
今後ともみどり堂をよろしくお願いいたします。

{signature}""", then="solved"),
    )),
    Script("mail-cancel-skin", "email", "sub", families=_SKIN, tags=("解約",), priority="high", steps=(
        IN("""定期購入している{product}ですが、使い始めてから頬のあたりが赤くなってしまい、肌に合わないようです。
次回のお届けから止めていただけますか。

{name}""", subject="解約希望です"),
        ASSIGN(),
        OUT("""{sei}様

みどり堂お客様サポートの{agent_sei}でございます。
この度は{product}がお肌に合わず、ご心配をおかけして申し訳ございません。
赤みが続くようでしたらご使用を中止し、皮膚科の受診をおすすめいたします。

定期便の解約につきまして、承知いたしました。
念のため、次回{next_ship}発送分から停止し解約とさせていただいてよろしいでしょうか。
（敏感肌向けの別の商品への切り替えもご案内できますので、ご希望があればお知らせください。）

{signature}"""),
        IN("はい、解約でお願いします。ご丁寧にありがとうございました。", subject="Re: 解約希望です"),
        ACT("cancel", "肌に合わない"),
        OUT("""{sei}様

ご返信ありがとうございます。
定期便の解約手続きが完了いたしました。{next_ship}以降のお届けとご請求はございません。

これまでご愛用いただき、誠にありがとうございました。
お肌の具合が早く落ち着きますよう、お祈り申し上げます。

{signature}""", then="solved"),
    )),
    Script("mail-cancel-no-effect", "email", "sub", families=_DRINKS, tags=("解約",), priority="high", steps=(
        IN("""{product}を{months}か月ほど続けましたが、正直あまり効果を感じられません。
定期をやめたいので手続きをお願いします。""", subject="定期購入をやめたい"),
        ASSIGN(),
        NOTE("効果を感じないとのこと。継続{months}か月。周期の変更だけご案内し、ご希望があればすぐ解約する。"),
        OUT("""{sei}様

いつもご愛用いただきありがとうございます。みどり堂の{agent_sei}でございます。
ご期待に沿えず申し訳ございません。

感じ方には個人差がございますので、ご無理におすすめすることはいたしません。
もし「量を減らして続けてみたい」ということでしたら、お届け周期を60日ごとに変更することもできます。
解約をご希望の場合は、このメールにその旨ご返信いただくだけで手続きいたします。

{signature}"""),
        IN("やっぱり解約でお願いします。", subject="Re: 定期購入をやめたい"),
        ACT("cancel", "効果を感じない"),
        OUT("""{sei}様

承知いたしました。定期便の解約手続きが完了しております。
最後のお届けは{last_ship}発送分となります。
これまでご利用いただき、誠にありがとうございました。

{signature}""", then="solved"),
    )),
    Script("mail-moving", "email", "sub", tags=("配送",), steps=(
        IN("""来月引っ越すことになりました。
新しい住所にも定期便を届けてもらえるのでしょうか？
難しいようなら定期をやめようと思っています。

{name}""", subject="引っ越しに伴う定期便について"),
        OUT("""{sei}様

お問い合わせありがとうございます。みどり堂の{agent_sei}でございます。
お引っ越し先へのお届けも、もちろん可能です。解約の必要はございません。
新しいご住所と、切り替えを希望される時期をお知らせいただけますでしょうか。

{signature}"""),
        IN("""ありがとうございます。では住所変更でお願いします。
新住所：{address}
{move_date}以降のお届け分からお願いします。""", subject="Re: 引っ越しに伴う定期便について"),
        NOTE("住所変更を登録済み（{move_date}以降のお届け分から）。"),
        OUT("""{sei}様

ご連絡ありがとうございます。
{move_date}以降のお届け分から、下記のご住所へお届けするよう変更いたしました。

{address}

新生活が落ち着きましたら、引き続き{product}をお楽しみください。

{signature}""", then="solved"),
    )),
    Script("mail-hospital", "email", "sub", tags=("解約", "休止"), priority="high", steps=(
        IN("""急に入院することになり、しばらく家を空けます。
いつ退院できるかわからないので、定期便はやめたほうがいいでしょうか。""", subject="しばらくお休みしたいです"),
        ASSIGN(),
        OUT("""{sei}様

みどり堂の{agent_sei}でございます。ご入院とのこと、心よりお見舞い申し上げます。

解約されなくても、定期便は最大3か月まで休止することができます。
休止中のお届けとご請求はございません。退院が延びた場合も、ご連絡いただければ延長いたします。
もちろん解約をご希望でしたら、そのように承ります。

どうぞご無理なさらず、ご都合のよいときにご返信ください。

{signature}"""),
        IN("休止できるのですね。それでは3か月休止でお願いします。", subject="Re: しばらくお休みしたいです",
           wait=(DAY, 2 * DAY)),
        ACT("pause", 90),
        OUT("""{sei}様

定期便を{paused_until}まで休止いたしました。
再開の前にご連絡いたしますので、それまでは何もしていただく必要はございません。

どうぞお大事になさってください。

{signature}""", then="solved"),
    )),
    Script("mail-cancel-plain", "email", "sub", tags=("解約",), priority="high", steps=(
        IN("""解約したいです。手続きをお願いします。

{name}
会員番号 {customer_no}""", subject="解約"),
        ASSIGN(),
        NOTE("理由の記載なし。引き止めはせず、そのまま解約手続きを行う。"),
        ACT("cancel", "理由なし"),
        OUT("""{sei}様

みどり堂の{agent_sei}でございます。
定期便の解約手続きが完了いたしました。次回以降のお届けとご請求はございません。

これまで{product}をご愛用いただき、誠にありがとうございました。
今後の参考に、もしよろしければ解約の理由をお聞かせいただけますと幸いです。

{signature}""", then="solved"),
    )),
    Script("mail-skip", "email", "sub", tags=("スキップ",), steps=(
        IN("""まだ前回の分が残っているので、{next_ship}のお届けを1回お休みできますか？

{name}""", subject="次回のお届けをスキップしたい"),
        ACT("skip", wait=(40, 4 * HOUR)),
        OUT("""{sei}様

いつもご利用ありがとうございます。みどり堂の{agent_sei}でございます。
{skipped}のお届けをお休みいたしました。次回は{next_after_skip}の発送となります。

{signature}""", then="solved", wait=(2, 10)),
    )),
    Script("mail-cycle", "email", "sub", families=_DRINKS, cycle=30, tags=("スキップ",), steps=(
        IN("""毎日飲み切れず、少しずつ余ってきました。
お届けを30日ごとから45日ごとに変えてもらえますか。""", subject="お届け周期の変更"),
        ACT("cycle", 45, wait=(40, 5 * HOUR)),
        OUT("""{sei}様

お問い合わせありがとうございます。みどり堂の{agent_sei}でございます。
お届け周期を45日ごとに変更いたしました。次回は{next_after_change}の発送となります。
ほかにもご希望がございましたら、お気軽にお申し付けください。

{signature}""", then="solved", wait=(2, 10)),
    )),
    Script("mail-english-skip", "email", "sub", lang="en", tags=("英語", "スキップ"), steps=(
        IN("""Hi,

I'll be abroad for work until next month. Could you skip my next delivery of {product_en}?

Thank you,
{name_en}""", subject="Skip next delivery"),
        ACT("skip", wait=(HOUR, 6 * HOUR)),
        OUT("""Dear {name_en},

Thank you for letting us know. We have skipped the delivery scheduled for {skipped_en}.
Your next delivery will ship on {next_after_skip_en}.

Have a safe trip!
{signature_en}""", then="solved", wait=(2, 15)),
    )),
)

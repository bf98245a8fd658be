"""Phrase pools for the composed part of the intent corpus (see make_corpus.py)."""
from __future__ import annotations

import random


def _ja_join(parts: list[str]) -> str:
    out = []
    for p in parts:
        p = p.strip()
        if p.endswith(("ので", "て", "し", "り", "まして", "ため", "で")):
            p += "、"
        elif p and p[-1] not in "。！？!?…〜ー）)":
            p += "。"
        out.append(p)
    return "".join(out)


def _ja_phone_join(parts: list[str]) -> str:
    return "".join(p if p.endswith(("。", "、")) else p + ("、" if p.endswith(("ため", "ので")) else "。")
                   for p in parts)


def _ja_casual(body: str, rnd: random.Random) -> str:
    body = body.replace("いただけますでしょうか", "もらえますか").replace("いただけますか", "もらえる？")
    body = body.replace("いたします", "します").replace("でございます", "です")
    return body.replace("。", rnd.choice(["。", "！", "、", " ", "〜"]), 1)


JA: dict = {
    "weights": [30, 16, 10, 44],
    "join": _ja_join,
    "phone_join": _ja_phone_join,
    "casual": _ja_casual,
    "greetings": ["いつもお世話になっております。", "お世話になります。", "こんにちは。", "ご担当者様\n\n",
                  "いつもありがとうございます。", "突然のご連絡失礼いたします。", "夜分に失礼します。",
                  "つなぐショップ様\n", "はじめてご連絡します。", "お疲れ様です。", "定期便を利用している者です。",
                  "会員番号 {n} の者です。".replace("{n}", "10482"), "先日はありがとうございました。"],
    "closings": ["よろしくお願いいたします。", "よろしくお願いします。", "お手数ですがよろしくお願いします。",
                 "ご確認のほどよろしくお願いいたします。", "以上です。", "返信お待ちしております。",
                 "どうぞよろしくお願い申し上げます。", "急ぎでお願いします。", "ご対応お願いします。", "宜しくお願い致します。"],
    "signatures": ["\n\n山田花子", "\n\n--\n佐藤 恵美\n090-1234-5678", "\n\n田中", "\n\n鈴木一郎\n東京都世田谷区",
                   "\n\n(iPhoneから送信)", "\n\n高橋", "\n\n伊藤由美子"],
    "x_heads": ["@tsunagu_shop ", "@tsunagu_shop ", "@tsunagu_support ", "@tsunagu_shop さん、", ".@tsunagu_shop "],
    "phone_heads": ["【通話メモ】", "【通話メモ】", "【通話メモ】お客様より入電。", "【通話メモ】ご本人様より。",
                    "【通話記録】", "【通話メモ】折り返し対応。", "【通話メモ】ご家族様より入電。", "通話メモ: "],
    "phone_tails": ["対応済み。", "処理済み。", "手続き完了を案内。", "確認メール送付予定。", "担当:佐藤",
                    "折り返し不要。", "SVへ共有済み。", "担当：中村"],
    "context": [
        "先週届いた商品は問題なく受け取りました", "先日は配送先の変更ありがとうございました",
        "ところで、ポイントの残高も教えてください", "領収書も一緒に発行していただけると助かります",
        "最近寒くなってきましたね", "前回の問い合わせの返信もまだ頂いていません",
        "娘が使っているシャンプーの件とは別件です", "パスワードの再設定もうまくいきませんでした",
        "今回の箱は少し潰れていましたが中身は無事でした", "先月からマイページにログインできません",
        "クーポンの有効期限も確認したいです", "商品自体はとても気に入っていました",
        "スタッフの方の対応はいつも丁寧で感謝しています", "請求書の宛名も変更したいです",
        "電話がなかなかつながらなかったのでメールします", "ギフト用の注文は別でお願いしています",
        "住所は前回と同じです", "会員番号は手元にありません", "フォームから送れなかったのでこちらに書きます",
    ],
    "quoted": [
        "> 定期便の解約・休止をご希望の場合は、次回発送日の7日前までにご連絡ください。\n> つなぐショップ サポート",
        "----- 元のメッセージ -----\n差出人: つなぐショップ <support@example.jp>\n件名: 次回お届けのお知らせ\n\n"
        "解約・お届け停止のお手続きはマイページから可能です。",
        "2026年11月20日(金) 9:30 つなぐショップ <support@example.jp>:\n> スキップ・休止・解約はマイページからお手続きいただけます。",
        "> いつもご利用ありがとうございます。\n> 定期のお届けを停止したい場合は本メールにご返信ください。",
        "On Fri, Nov 20, 2026 at 9:30 AM つなぐショップ wrote:\n> 解約をご希望のお客様はお電話にてご連絡ください。",
    ],
    "reasons": {
        "price": ["最近値上がりして負担が大きくなってきました", "家計が苦しくなってしまって", "毎月の支払いが正直きついです",
                  "収入が減ってしまい", "他社でもっと安いものを見つけたので", "節約しないといけなくなりました",
                  "年金生活になり出費を抑えたいので", "子どもの学費がかかるようになったので",
                  "ネットで同じものがもっと安く買えると知りました", "別のメーカーの商品に乗り換えることにしたので",
                  "お金に余裕がなくなりまして", "主人の仕事が減ってしまい", "値段の割に量が少ないと感じて"],
        "surplus": ["まだ家にたくさん残っていて", "飲みきれなくてたまる一方です", "ストックが3袋もあります",
                    "使うペースより届くペースが早くて", "冷蔵庫がいっぱいになってしまいました",
                    "前回分もまだ開けていません", "消費が追いつかなくて"],
        "not_effective": ["半年続けましたが効果を感じられませんでした", "正直あまり変化がなくて", "期待したほどの効果がなくて",
                          "続けても何も変わらなかったので", "体重も全然変わりませんでした"],
        "unsuitable": ["肌に合わなかったみたいで赤くなってしまいました", "飲むとお腹がゆるくなってしまって",
                       "味がどうしても苦手で", "医者に止められてしまいまして", "持病の薬と合わないと言われたので",
                       "体調を崩してしまい", "香りがきつくて頭痛がするので", "アレルギーが出てしまったので"],
        "moving": ["来月引っ越すことになりまして", "転勤で福岡に行くことになり", "海外に移住することになったので",
                   "実家に戻ることになったので", "配送エリア外に引っ越すので"],
        "temporary": ["しばらく入院することになりました", "長期の出張が入ってしまい", "出産で里帰りするので",
                      "家族の介護で家を空けることが多くなり", "海外旅行に行くので", "単身赴任が決まったので",
                      "手術を受けることになったので"],
        "other": ["母が先月亡くなりまして", "父が他界したため", "生活スタイルが変わったので", "子どもが使わなくなったので",
                  "いろいろ考えた結果", "特に不満はないのですが", "サブスクを整理していて", "一人暮らしをやめたので"],
    },
    "reasons_phone": {
        "price": ["家計が厳しいとのこと", "値上げが負担とのこと", "他社の安い商品に乗り換えるとのこと", "収入減のため",
                  "費用面が理由"],
        "surplus": ["在庫が余っているとのこと", "消費が追いつかないとのこと", "ストックが多数あるとのこと"],
        "not_effective": ["効果を実感できないとのこと", "変化が感じられないとのこと"],
        "unsuitable": ["肌に合わないとのこと", "体調不良のため", "医師から止められたとのこと", "味が合わないとのこと"],
        "moving": ["転居予定とのこと", "海外転勤のため", "引っ越しのため"],
        "temporary": ["入院予定とのこと", "長期出張のため", "里帰り出産のため", "介護で不在がちとのこと"],
        "other": ["ご契約者様ご逝去のため", "理由は特になし", "理由は伺えず", "生活環境の変化のため"],
    },
    "cancel": [
        "定期便を解約したいです", "定期購入の解約をお願いします", "解約手続きをお願いいたします", "退会したいです",
        "定期コースをやめたいと思います", "今回のお届けで最後にしてください", "次回からのお届けは不要です",
        "今後のお届けは辞退させていただきます", "今後の発送はご遠慮いたします", "以降のお届けは控えさせてください",
        "これ以降のご送付はお控えいただけますでしょうか", "今後の商品発送は結構でございます", "次回からの発送は見送らせてください", "これで最後にします", "そろそろ卒業しようと思います",
        "定期をやめさせてください", "もう送らないでください", "次回以降の発送はお断りします",
        "お届けを終了してください", "定期のお届けを今後停止してください", "契約を終わりにしたいです",
        "今月いっぱいで定期を終わりにしたいと考えております", "もう結構ですので、定期を止めてください",
        "継続はしないことにしました", "定期便を打ち切ってください", "定期の契約を解除してください",
        "今後は購入を控えたいので、定期を解約させてください", "申し訳ないのですが定期はやめます",
        "会員も退会して、定期も止めてください", "定期はこれで終わりでお願いします", "もう届けていただかなくて大丈夫です",
        "次の便からはいりません", "今届いている分で最後にしたいです", "定期便の停止をお願いしたいです。再開の予定はありません",
        "自動でお届けされる設定を解除してください", "定期のお申し込みを取り消したいです", "解約させていただけますでしょうか",
        "定期は卒業します", "ここで定期を終わらせてください", "今後は必要ないので定期を解約で",
        "定期購入を終了させていただきたく存じます", "誠に恐縮ですが、定期便の解約をお願い申し上げます",
        "もういいので止めてください", "次回分から送ってこなくていいです", "定期やめたい",
        "アカウントごと削除してください", "もう続けるつもりはないので、お届けを止めてもらえますか",
        "今後の配送をすべてキャンセルしてください", "定期便のキャンセルをお願いします", "定期はもうおしまいにします",
        "これ以上の継続は難しいので解約します", "母の分の定期を解約したいです", "父の定期便を止めてください。もう飲まないそうです",
        "主人の分のお届けを今回で終わりにしてください", "祖母名義の定期をやめたいです", "家族の代わりに連絡しました。定期を解約してください",
    ],
    "skip_reasons": {
        "surplus": ["まだ前回の分が少し残っていて", "今月は使うペースが遅かったので", "ストックが1袋あるので"],
        "temporary": ["来週は旅行で家を空けるので", "発送日あたりは出張なので", "その週は帰省しているので",
                      "受け取れない日なので"],
    },
    "skip_reasons_phone": {
        "surplus": ["前回分が残っているとのこと"], "temporary": ["発送日に不在のため", "旅行で受け取れないため"],
    },
    "cancel_phone": [
        "定期解約を希望", "解約のご依頼", "今後のお届け不要とのこと。解約で処理", "退会希望とのこと",
        "定期を終了したいとのご意向", "次回以降の発送停止を希望。再開予定なし", "今回で最後にしたいとのこと。解約手続き",
        "定期を卒業したいとのこと", "引き止めるも解約の意思固い", "ご家族の代理で解約のご依頼", "お母様名義の定期の解約を希望",
        "もう届けなくてよいとのこと。解約処理", "定期をやめたいとのこと",
    ],
    "pause": [
        "しばらく定期をお休みしたいです", "3ヶ月ほど休止させてください", "一時停止をお願いします", "2ヶ月お届けを止めてください",
        "落ち着くまでお届けを止めてもらえますか", "帰ってくるまで配送を止めておいてください", "来年の春までお休みしたいです",
        "退院するまで定期を止めていただけますか", "次回と次々回のお届けを飛ばしてください", "当面のあいだ発送を見合わせてください",
        "また連絡するまで定期を保留にしてください", "一旦定期を止めて、再開はこちらから連絡します",
        "半年ほど休ませてください", "在庫がなくなるまでストップしてください", "少しの間お休みさせてもらえますか",
        "3回分お届けを止めてください", "夏が終わるまで定期をお休みでお願いします", "再開するまで止めておいてください",
        "1ヶ月半ほどお届けを見送りたいです", "来月から2ヶ月間、お届けを一時休止したいです",
    ],
    "pause_phone": [
        "3ヶ月の休止を希望", "落ち着くまでお届け休止希望。再開はお客様から連絡", "2ヶ月間の一時停止で処理",
        "退院まで休止を希望", "当面お届けを止めたいとのこと", "2回分のお届け停止を希望",
    ],
    "skip": [
        "今月分はパスで", "次回の分はなしで、その次からまたお願いします", "今回はおやすみでお願いします。来月はいつも通りで",
        "次の発送1回だけ飛ばしてほしいです", "今回の定期便だけ止めてもらえますか", "次回分はいりません。次々回は送ってください",
        "次回のお届けだけスキップしてください", "今月分だけお休みにしてもらえますか", "次の1回だけ飛ばしてください",
        "今回のお届けは見送って、次からはいつも通りでお願いします", "1回分だけパスさせてください",
        "来月のお届けだけなしにしてください", "次回分のみ発送を止めて、その後は通常どおりでお願いします",
        "今回だけお休みします", "一回だけスキップできますか", "今月はスキップでお願いします",
        "次の便だけずらしてもらえますか", "12月分だけ止めてください。1月からはまたお願いします",
    ],
    "skip_phone": ["次回分のみスキップ希望", "1回分のスキップで処理。以降は継続", "今月分だけお休みを希望",
                   "次回お届けを1回見送りたいとのこと"],
    "none": {
        "question": ["定期の解約はいつまでに連絡すればいいですか", "申し込む前に、解約の条件を教えてください",
                     "定期は何回目から解約できますか", "もし解約する場合、手数料はかかりますか",
                     "解約の締め切りは発送の何日前ですか", "休止できる期間は最大何ヶ月ですか",
                     "定期に縛りはありますか", "いつでも解約できますか", "今後もし解約したくなったらどうすればいいですか",
                     "解約すると貯まったポイントは消えますか", "定期を申し込むか迷っています。途中でやめられますか",
                     "お試し後に解約する場合の期限はいつですか", "スキップは何回までできますか"],
        "threat": ["次も遅れたら解約します", "また破損していたら定期をやめます", "今度請求を間違えたら退会します",
                   "改善されないようなら解約も考えます", "次回も同じなら定期は続けられません",
                   "また違う商品が届いたら、もう解約しますからね"],
        "resume": ["休止中の定期を再開したいです", "止めていた定期をまた始めたいです", "以前解約しましたが、もう一度申し込みたいです",
                   "お休みしていたお届けを来月から再開してください", "定期を再開する手続きをお願いします",
                   "解約をやめて、続けることにしました"],
        "optout": ["メルマガの配信を停止してください", "ポイントクラブを退会したいです。定期はこのままで",
                   "カタログの郵送をやめてください", "営業電話はやめてください", "DMの送付を止めてください",
                   "LINEのお知らせを解除したいです", "ニュースレターは不要です", "紙の明細書の送付を停止してください",
                   "キャンペーンのメールを止めたいです", "SMSの通知を停止してください",
                   "ポイント会員だけ退会したいです。お届けは今まで通りで", "ポイントプログラムを退会させてください。定期は継続します",
                   "会員向けのポイントサービスから抜けたいです。商品はこのまま届けてください", "ファンクラブの退会をお願いします",
                   "LINEの友だち登録を解除したいのですが、定期に影響はありますか", "ポイントカードの退会手続きだけお願いします",
                   "メール会員をやめたいです。購入は続けます", "アンケートのお願いはもう送らないでください",
                   "誕生日のDMは不要です", "会報の送付は結構です。商品はこれからもお願いします"],
        "stop_other": ["配送業者から配達停止のお知らせが来ましたが大丈夫ですか", "台風で配送が停止しているようですが、いつ届きますか",
                       "お問い合わせフォームが停止中だったのでメールしました", "カードが利用停止になったので支払い方法を変えたいです",
                       "口座振替が止まっているようです。確認をお願いします", "サイトのメンテナンスで注文が止まっていますか",
                       "アプリが停止してしまって開けません", "大雪で配送ストップと聞きましたが、今回の分はどうなりますか",
                       "サイトの問い合わせ窓口が一時停止になっていたのでメールしました", "ログインしたらアカウントが一時停止と出ました。なぜですか",
                       "チャットサポートが休止中だったのでこちらから連絡します", "地震の影響で一時的に配送が止まっていると聞きました",
                       "カードを一時停止していたので決済できなかったかもしれません。再開したので再決済してください",
                       "配送センターが一時休止と聞きましたが、注文は届きますか", "メンテナンスで注文受付が停止中のようです"],
        "benign": ["定期便いつも楽しみにしています", "定期のお届け日を毎月25日に変えたいです", "定期の支払いをカードに変えたいです",
                   "定期便の中身を別の味に変更できますか", "定期で届く商品の量を増やしたいです", "定期の次回お届け日を教えてください",
                   "定期購入を続けて1年になりました。これからもよろしくお願いします", "定期コースの特典はいつ届きますか",
                   "定期便の請求額が先月と違うのですが", "定期便の箱をもう少し小さくできますか", "定期のお届け先を実家に変更してください",
                   "定期便にお試し品を追加してもらえますか", "定期の配送時間を午前中にしたいです", "定期便が届いていません。追跡番号を教えてください",
                   "定期の解約ではなく、周期の変更をお願いしたいです", "定期はこのまま続けます。住所だけ変更してください",
                   "定期便のポイントはいつ付きますか", "定期購入者向けのクーポンは使えますか", "サブスクの内容を確認したいです",
                   "定期のお届けを1週間早めてもらえますか", "定期便の商品を母にプレゼントしたいです"],
        "general": ["初期不良のようでスイッチが入りません", "注文した色と違うものが届きました", "追跡番号で調べても荷物が見つかりません",
                    "ラベルの成分表示に誤りがあるようです", "子どもが飲んでも大丈夫でしょうか", "保存方法を教えてください",
                    "開封後はどのくらい日持ちしますか", "店舗でも購入できますか", "ポイントの有効期限はいつまでですか",
                    "会員ランクの条件を教えてください", "支払い明細をメールで送ってもらえますか", "配達員の方の対応がとても良かったです",
                    "キャンペーンの応募方法がわかりません", "商品の写真と実物の色がだいぶ違いました", "同梱されていたサンプルがとても良かったです",
                    "以前の注文履歴を確認したいです", "マイページのメールアドレスを変更したいです", "電話番号を変更しました",
                    "請求書払いはできますか", "法人名義で領収書をお願いします", "箱の中で瓶が割れていました", "賞味期限が近いものが届きました",
                    "味のバリエーションは増えますか", "妊娠中ですが飲んでも大丈夫ですか", "海外への発送はしていますか",
                    "ギフトカードは使えますか", "アプリの通知が来ません", "問い合わせ番号を教えてください", "届いた商品が注文数より多かったです",
                    "値段の割にとても良い商品ですね", "友達に紹介したらとても喜ばれました", "パッケージがかわいくて気に入っています",
                    "飲み方のおすすめはありますか", "配送料はいくらですか", "コンビニ受け取りはできますか", "土日の配達は可能ですか"],
        "other": ["お届け日を変更したいです", "住所変更をお願いします", "商品が破損していました", "請求額を確認したいです",
                  "周期を45日に変更してください", "数量を2つに増やしたいです", "別の味に変えたいです",
                  "領収書を発行してください", "ログインできません", "今回も美味しかったです、ありがとうございます",
                  "単品注文のキャンセルをお願いします", "注文したものと違う商品が届きました", "ギフト包装はできますか",
                  "支払い方法を変更したいです", "成分について質問があります", "母の分も追加で申し込みたいです",
                  "引っ越したのでお届け先を変えてください。定期は続けます", "配達時間を夜にしてほしいです",
                  "クーポンが使えませんでした", "新商品の発売日はいつですか"],
    },
    "none_phone": {
        "other": ["お届け日の変更依頼。変更済み", "住所変更のご依頼。処理済み", "請求内容の問い合わせ。説明済み",
                  "解約の意思なし。周期変更のみ", "お客様は解約を希望していない。商品の飲み方の質問", "解約ではなく数量変更の依頼",
                  "継続のご意向。クーポン案内済み", "解約を検討していたが継続されるとのこと", "破損品の交換依頼。手配済み"],
        "question": ["解約条件の確認のみ。現時点で解約予定なし", "縛りの有無の問い合わせ。申込前の確認"],
        "threat": ["配送遅延へのお怒り。次も遅れたら解約するとのこと。お詫びし、今回は継続"],
        "resume": ["休止中の定期の再開希望。再開処理済み", "再申し込みのご希望"],
        "optout": ["営業電話を控えてほしいとのこと。定期は継続", "メルマガ停止のご依頼"],
    },
}


def _en_join(parts: list[str]) -> str:
    out = []
    for p in parts:
        p = p.strip()
        if p and p[-1] not in ".!?":
            p += "."
        out.append(p[0].upper() + p[1:] if p else p)
    return " ".join(out)


def _en_casual(body: str, rnd: random.Random) -> str:
    body = body.replace("Could you please", "pls").replace("I would like to", "wanna").replace("I'd like to", "wanna")
    return body.lower() if rnd.random() < 0.5 else body


EN: dict = {
    "weights": [30, 15, 10, 45],
    "join": _en_join,
    "phone_join": lambda parts: " ".join(p.rstrip(".") + "." for p in parts),
    "casual": _en_casual,
    "greetings": ["Hi,\n\n", "Hello,\n", "Dear Tsunagu team,\n\n", "Hi there, ", "Good morning. ", "To whom it may concern,\n\n",
                  "Hey, ", ""],
    "closings": [" Thanks.", " Thank you.", "\n\nBest regards,", " Cheers!", "\n\nThanks in advance.", " Regards.", "\n\nKind regards"],
    "signatures": ["\nEmma Clarke", "\n\nJ. Nakamura", "\n-- \nSent from my phone", "\nTom", "\nMaria Gonzalez"],
    "x_heads": ["@tsunagu_shop ", "@tsunagu_shop ", "@tsunagu_support "],
    "phone_heads": ["[Call note] ", "[Call summary] ", "Call note: ", "[Phone] Customer called. "],
    "phone_tails": [" Processed.", " Confirmation email sent.", " Agent: Sato.", " No callback needed."],
    "context": ["Thanks for sorting out my address last week", "The last box arrived fine",
                "Also, could you resend my last invoice", "I couldn't log in to my account so I'm emailing",
                "Your support team has always been kind", "Separate question: do you ship gift boxes",
                "I tried calling but nobody picked up", "I loved the holiday edition by the way"],
    "quoted": ["On Mon, Nov 16, 2026 at 9:00 AM Tsunagu Shop <support@example.jp> wrote:\n> To cancel or pause your "
               "subscription, reply to this email before the cutoff.",
               "> You can skip, pause or cancel your plan any time from your account page.\n> The Tsunagu team",
               "-----Original Message-----\nFrom: Tsunagu Shop\nSubject: Your next delivery\n\nWant to stop your deliveries? "
               "Cancel anytime."],
    "reasons": {
        "price": ["it's gotten too expensive for me", "money is tight at the moment", "I lost my job", "I found a cheaper brand",
                  "the price went up again", "I'm switching to a competitor", "I need to cut back on spending"],
        "surplus": ["I have way too much at home", "the bags are piling up", "I can't keep up with the deliveries",
                    "I still have three unopened boxes"],
        "not_effective": ["I haven't seen any difference", "it just isn't working for me", "no results after three months"],
        "unsuitable": ["it gave me a rash", "it upsets my stomach", "my doctor told me to stop", "I don't like the taste",
                       "I'm having health issues"],
        "moving": ["I'm moving abroad", "we're relocating next month", "I'm moving somewhere you don't deliver"],
        "temporary": ["I'll be in hospital for a while", "I'm travelling for two months", "I'm on a long business trip",
                      "the baby is due soon"],
        "other": ["my mother passed away", "my husband died recently", "my circumstances have changed", "honestly, I just don't use it",
                  "I'm tidying up all my subscriptions"],
    },
    "reasons_phone": {
        "price": ["Customer says it's too expensive", "Lost job, money tight", "Switching to a cheaper competitor"],
        "surplus": ["Too much stock at home", "Products piling up"],
        "not_effective": ["No results felt", "Says it doesn't work"],
        "unsuitable": ["Skin reaction reported", "Doctor advised stopping"],
        "moving": ["Moving overseas", "Relocating out of delivery area"],
        "temporary": ["Going into hospital", "Travelling for several weeks"],
        "other": ["Account holder passed away, caller is the son", "No reason given"],
    },
    "cancel": ["Please cancel my subscription", "I want to cancel my plan", "Please stop all future deliveries",
               "This will be my last box", "Don't send me any more", "I'd like to end my membership",
               "Please close my account", "I won't be continuing after this delivery", "Time for me to say goodbye to the subscription",
               "No more boxes please", "Stop my deliveries for good", "Cancel it. I'm done", "I want out",
               "Please terminate my recurring order", "I no longer need the product, please end the deliveries",
               "I'd like to discontinue the service", "Please do not renew", "Take me off the subscription",
               "Kindly cancel the auto-ship", "I'm calling it quits on the coffee club",
               "Please cancel my mother's subscription on her behalf", "My dad wants his deliveries stopped for good",
               "I'm writing for my wife: please end her plan", "Why is this so hard to cancel? Just end it"],
    "skip_reasons": {
        "surplus": ["I still have some from last time", "I'm a bit behind"],
        "temporary": ["I'm away that week", "I won't be home on the delivery day"],
    },
    "skip_reasons_phone": {"surplus": ["Has some left"], "temporary": ["Away on the delivery date"]},
    "cancel_phone": ["Customer wants to cancel", "Requested cancellation, not interested in offers",
                     "Asked us to stop all future deliveries", "Cancellation requested on behalf of mother"],
    "pause": ["Please pause my deliveries for three months", "Can you hold my subscription until I'm back",
              "I'd like to put things on hold for a while", "Skip the next two deliveries please",
              "Freeze my plan until spring", "Please suspend shipments until further notice",
              "Can I take a break for a couple of months"],
    "pause_phone": ["Wants a 3-month pause", "Asked to hold deliveries until she's out of hospital",
                    "Suspend until further notice"],
    "skip": ["Skip next month for me", "Can you skip the upcoming box? I'll want the one after", "Skip this month please",
             "Pass on this month's delivery, next month is fine", "Just skip one shipment for me",
             "Please skip my next delivery only", "Can I skip this month's box", "Skip just the one shipment, then carry on",
             "Could you skip the upcoming delivery? Resume as normal after", "Skip this one please"],
    "skip_phone": ["Wants to skip the next delivery only", "One-time skip requested"],
    "none": {
        "question": ["How do I cancel if I ever need to?", "Is there a minimum commitment before I sign up?",
                     "What's the deadline to cancel before a shipment?", "Can I cancel anytime?",
                     "If I pause, how long can the pause last?", "Is there a fee for cancelling early?"],
        "threat": ["If this happens again I'll cancel", "One more late box and I'm cancelling",
                   "Fix the billing or I'll have to cancel"],
        "resume": ["I'd like to restart my paused subscription", "Please resume my deliveries",
                   "I cancelled last year and want to sign up again"],
        "optout": ["Please remove me from the rewards program, deliveries stay as they are",
                   "Cancel my points membership only, not the plan", "No more survey emails please",
                   "Please unsubscribe me from the newsletter", "Stop the marketing emails please",
                   "I want to leave the points club but keep my plan", "No more paper catalogues please",
                   "Please stop the sales calls"],
        "stop_other": ["Your live chat is paused, so I'm emailing", "My account page says it's suspended, why?",
                       "I froze my card for a while; please retry the payment now",
                       "The carrier has stopped deliveries in my area, when will mine arrive?",
                       "My card was frozen, how do I update it?", "Your contact form is down so I'm writing here"],
        "benign": ["My subscription has been great, thank you", "Can I change what's in my subscription box?",
                   "When is my next subscription delivery?", "Please update the card on my subscription",
                   "I'd like to add a second item to my monthly plan", "Is my subscription discount still applied?",
                   "Can I move my delivery day to Fridays?", "My plan renewed, could I get the receipt?",
                   "I don't want to stop my deliveries, I only need a new address on them",
                   "Can the subscription ship to my office from now on?", "I love the plan, any referral codes?"],
        "general": ["The tracking link doesn't work", "Is this safe to take while breastfeeding?", "Do you have a vegan option?",
                    "The lid was cracked when it arrived", "How should I store the beans?", "Can I pay by bank transfer?",
                    "My discount code isn't working at checkout", "I got two boxes instead of one", "What time does the courier come?",
                    "Can I pick it up at a convenience store?", "The colour is different from the photo", "Great customer service, thanks!",
                    "Do you ship to Hokkaido?", "Could I have a copy of my invoice?", "I changed my phone number",
                    "How long does it keep once opened?", "Is there caffeine in the night blend?", "Loving this month's box!",
                    "Can you gift-wrap an order?", "My account page shows an error"],
        "other": ["Can I change my delivery date?", "The box arrived damaged", "Please update my address",
                  "Can I add an extra bag?", "Please cancel order #5521, I ordered twice by mistake",
                  "Love the new flavour!", "Where is my package?", "Can I get a receipt?",
                  "Can I switch to decaf?", "I'd like to change my payment card"],
    },
    "none_phone": {
        "other": ["Customer does not want to cancel; changed delivery day", "Billing question only, explained",
                  "Was considering cancelling but decided to stay", "Address update, done"],
    },
}

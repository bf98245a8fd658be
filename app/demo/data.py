"""Fixed material for the demo shop: the catalogue, the agents, names and where mail comes from.

Constants, and `weighted()` to draw from the weighted tables; `people`, `shop` and `plan` draw
with seeded generators, so the same seed always builds the same shop.
"""
from __future__ import annotations

import random


def weighted(rng: random.Random, pairs):
    """One value from ((value, weight), ...)."""
    values, weights = zip(*pairs)
    return rng.choices(values, weights)[0]


SHOP_NAME = "みどり堂"
SHOP_X_HANDLE = "midorido_shop"
SHOP_X_ID = "1350245510776213504"
PASSWORD = "tsunagu-demo"

#: (email, name, role, weight as primary handler of conversations, name in English mail)
AGENTS = (
    ("agent@demo.example", "田中 さくら", "agent", 34, "Sakura Tanaka"),
    ("supervisor@demo.example", "鈴木 健一", "supervisor", 6, "Kenichi Suzuki"),
    ("takahashi@demo.example", "高橋 美穂", "agent", 24, "Miho Takahashi"),
    ("ito@demo.example", "伊藤 大輔", "agent", 20, "Daisuke Ito"),
    ("watanabe@demo.example", "渡辺 あゆみ", "agent", 16, "Ayumi Watanabe"),
)
SUPERVISOR = "supervisor@demo.example"

#: (external_id, sku, name, variant, family, price, subscription_price, English label)
PRODUCTS = (
    ("P-1001", "AOJ-30", "国産大麦若葉の青汁", "30包", "aojiru", 3980, 2980,
     "Barley Grass Aojiru (30 sachets)"),
    ("P-1002", "AOJ-60", "国産大麦若葉の青汁", "60包", "aojiru", 6980, 5480,
     "Barley Grass Aojiru (60 sachets)"),
    ("P-1003", "AOJ-07", "国産大麦若葉の青汁", "お試し7包", "aojiru", 980, None,
     "Barley Grass Aojiru (7-sachet trial)"),
    ("P-1011", "LAC-30", "乳酸菌サプリメント", "30粒", "lactic", 2800, 1980,
     "Lactic Acid Bacteria Supplement (30 capsules)"),
    ("P-1012", "LAC-90", "乳酸菌サプリメント", "90粒", "lactic", 7200, 5400,
     "Lactic Acid Bacteria Supplement (90 capsules)"),
    ("P-1021", "LOT-M150", "高保湿化粧水", "しっとり 150ml", "lotion", 3300, 2640,
     "Moisturising Lotion, rich (150 ml)"),
    ("P-1022", "LOT-L150", "高保湿化粧水", "さっぱり 150ml", "lotion", 3300, 2640,
     "Moisturising Lotion, light (150 ml)"),
    ("P-1031", "SER-30", "ハリ美容液", "30ml", "serum", 5500, 4400, "Firming Serum (30 ml)"),
)
#: Which product a new subscriber of each family starts on, with weights.
SUBSCRIBED = {
    "aojiru": (("P-1001", 75), ("P-1002", 25)),
    "lactic": (("P-1011", 70), ("P-1012", 30)),
    "lotion": (("P-1021", 60), ("P-1022", 40)),
    "serum": (("P-1031", 100),),
}
FAMILY_WEIGHTS = (("aojiru", 45), ("lactic", 25), ("lotion", 20), ("serum", 10))
CYCLE_WEIGHTS = ((30, 60), (45, 25), (60, 15))

#: (kanji, katakana, romaji)
SURNAMES = (
    ("佐藤", "サトウ", "sato"), ("鈴木", "スズキ", "suzuki"), ("高橋", "タカハシ", "takahashi"),
    ("田中", "タナカ", "tanaka"), ("伊藤", "イトウ", "ito"), ("渡辺", "ワタナベ", "watanabe"),
    ("山本", "ヤマモト", "yamamoto"), ("中村", "ナカムラ", "nakamura"), ("小林", "コバヤシ", "kobayashi"),
    ("加藤", "カトウ", "kato"), ("吉田", "ヨシダ", "yoshida"), ("山田", "ヤマダ", "yamada"),
    ("佐々木", "ササキ", "sasaki"), ("山口", "ヤマグチ", "yamaguchi"), ("松本", "マツモト", "matsumoto"),
    ("井上", "イノウエ", "inoue"), ("木村", "キムラ", "kimura"), ("林", "ハヤシ", "hayashi"),
    ("斎藤", "サイトウ", "saito"), ("清水", "シミズ", "shimizu"), ("山崎", "ヤマザキ", "yamazaki"),
    ("森", "モリ", "mori"), ("池田", "イケダ", "ikeda"), ("橋本", "ハシモト", "hashimoto"),
    ("阿部", "アベ", "abe"), ("石川", "イシカワ", "ishikawa"), ("山下", "ヤマシタ", "yamashita"),
    ("中島", "ナカジマ", "nakajima"), ("石井", "イシイ", "ishii"), ("小川", "オガワ", "ogawa"),
    ("前田", "マエダ", "maeda"), ("岡田", "オカダ", "okada"), ("長谷川", "ハセガワ", "hasegawa"),
    ("藤田", "フジタ", "fujita"), ("後藤", "ゴトウ", "goto"), ("近藤", "コンドウ", "kondo"),
    ("村上", "ムラカミ", "murakami"), ("遠藤", "エンドウ", "endo"), ("青木", "アオキ", "aoki"),
    ("坂本", "サカモト", "sakamoto"), ("福田", "フクダ", "fukuda"), ("西村", "ニシムラ", "nishimura"),
    ("太田", "オオタ", "ota"), ("藤井", "フジイ", "fujii"), ("岡本", "オカモト", "okamoto"),
    ("松田", "マツダ", "matsuda"), ("中川", "ナカガワ", "nakagawa"), ("原田", "ハラダ", "harada"),
    ("小野", "オノ", "ono"), ("竹内", "タケウチ", "takeuchi"),
)
FEMALE_NAMES = (
    ("美咲", "ミサキ", "misaki"), ("陽子", "ヨウコ", "yoko"), ("恵子", "ケイコ", "keiko"),
    ("由美子", "ユミコ", "yumiko"), ("真由美", "マユミ", "mayumi"), ("直子", "ナオコ", "naoko"),
    ("久美子", "クミコ", "kumiko"), ("幸子", "サチコ", "sachiko"), ("智子", "トモコ", "tomoko"),
    ("裕子", "ユウコ", "yuko"), ("明美", "アケミ", "akemi"), ("京子", "キョウコ", "kyoko"),
    ("美穂", "ミホ", "miho"), ("愛", "アイ", "ai"), ("彩", "アヤ", "aya"), ("さくら", "サクラ", "sakura"),
    ("結衣", "ユイ", "yui"), ("麻衣", "マイ", "mai"), ("千尋", "チヒロ", "chihiro"), ("奈々", "ナナ", "nana"),
    ("香織", "カオリ", "kaori"), ("由紀", "ユキ", "yuki"), ("瞳", "ヒトミ", "hitomi"),
    ("里美", "サトミ", "satomi"), ("典子", "ノリコ", "noriko"), ("和子", "カズコ", "kazuko"),
    ("純子", "ジュンコ", "junko"), ("美香", "ミカ", "mika"), ("沙織", "サオリ", "saori"),
    ("理恵", "リエ", "rie"), ("綾香", "アヤカ", "ayaka"), ("菜々子", "ナナコ", "nanako"),
    ("遥", "ハルカ", "haruka"), ("絵美", "エミ", "emi"), ("美樹", "ミキ", "miki"),
    ("弘美", "ヒロミ", "hiromi"), ("房子", "フサコ", "fusako"), ("千夏", "チナツ", "chinatsu"),
)
MALE_NAMES = (
    ("健一", "ケンイチ", "kenichi"), ("誠", "マコト", "makoto"), ("大輔", "ダイスケ", "daisuke"),
    ("浩", "ヒロシ", "hiroshi"), ("隆", "タカシ", "takashi"), ("翔太", "ショウタ", "shota"),
    ("拓也", "タクヤ", "takuya"), ("和也", "カズヤ", "kazuya"), ("直樹", "ナオキ", "naoki"),
    ("健太", "ケンタ", "kenta"), ("修", "オサム", "osamu"), ("茂", "シゲル", "shigeru"),
    ("剛", "ツヨシ", "tsuyoshi"), ("亮", "リョウ", "ryo"), ("達也", "タツヤ", "tatsuya"),
    ("哲也", "テツヤ", "tetsuya"), ("学", "マナブ", "manabu"), ("正樹", "マサキ", "masaki"),
    ("雄一", "ユウイチ", "yuichi"), ("勝", "マサル", "masaru"),
)
FEMALE_SHARE = 0.72

#: Where customers' mail comes from (weights): free mail, and the carriers' own addresses.
EMAIL_DOMAINS = (
    ("gmail.com", 28), ("yahoo.co.jp", 22), ("docomo.ne.jp", 12), ("ezweb.ne.jp", 8),
    ("softbank.ne.jp", 5), ("i.softbank.jp", 5), ("icloud.com", 10), ("au.com", 3),
    ("outlook.jp", 4), ("nifty.com", 2), ("biglobe.ne.jp", 1),
)
CARRIER_DOMAINS = ("docomo.ne.jp", "ezweb.ne.jp", "softbank.ne.jp", "i.softbank.jp", "au.com")
MOBILE_PREFIXES = (("090", 55), ("080", 35), ("070", 10))
X_HANDLE_WORDS = ("life", "days", "beauty", "mama", "cafe", "diary", "hadacare", "run", "nichijo",
                  "aojiru", "kenko", "0w0", "log", "memo")
X_NAME_DECORATIONS = ("", "", "", "🌿", "🍵", "☕", "🌸", "@乾燥肌", "@育児中", "｜毎日ゆるく")

#: People who write in before they are customers (ingest creates them). (name, romaji, lang)
STRANGER_NAMES = (
    ("木村 花", "hana.kimura", "ja"), ("長尾 玲奈", "rena.nagao", "ja"), ("島田 葵", "aoi.shimada", "ja"),
    ("川口 理沙", "risa.kawaguchi", "ja"), ("野口 亜美", "ami.noguchi", "ja"), ("大野 真央", "mao.ono", "ja"),
    ("杉山 彩花", "ayaka.sugiyama", "ja"), ("今井 友美", "tomomi.imai", "ja"), ("河野 瑞穂", "mizuho.kono", "ja"),
    ("Emily Carter", "emily.carter", "en"), ("Daniel Tan", "daniel.tan", "en"), ("Mei Lin", "mei.lin", "en"),
    ("Sarah Wong", "sarah.wong", "en"), ("Olivia Brown", "olivia.brown", "en"), ("Kevin Chen", "kevin.chen", "en"),
)
STRANGER_DOMAINS = ("gmail.com", "yahoo.co.jp", "outlook.com", "icloud.com")

#: New addresses for customers who move (fictional building names).
NEW_ADDRESSES = (
    "〒226-0025 神奈川県横浜市緑区十日市場町1-4-8 グリーンハイツ203",
    "〒338-0001 埼玉県さいたま市中央区上落合2-11-5 コーポみどり102",
    "〒460-0008 愛知県名古屋市中区栄3-7-21 メゾン栄505",
    "〒812-0011 福岡県福岡市博多区博多駅前4-2-10 サンライズ博多301",
    "〒060-0042 北海道札幌市中央区大通西9-3-1 ノースコート1204",
)
WEEKDAYS_JA = "月火水木金土日"

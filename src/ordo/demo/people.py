"""Demo customers: Chinese and foreign names, valid phone numbers, real-looking addresses.

Every phone number is checked with ``phonenumbers`` and stored in E.164, the form intake
normalises to (so that ``submit_order`` finds the customer again by phone). E-mail addresses
use the reserved ``example.*`` domains; US numbers come from the fictional 555-01xx range.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import phonenumbers

SURNAMES = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林",
    "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "袁",
    "潘", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "姚", "卢", "欧阳", "司马",
)
GIVEN_NAMES = (
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
    "秀兰", "霞", "平", "刚", "桂英", "子涵", "梓萱", "浩然", "一诺", "欣怡", "宇轩", "思远", "雨桐", "俊杰",
    "佳怡", "子墨", "晓东", "建国", "春燕", "海燕", "志强", "文博", "诗涵", "嘉懿", "天佑", "若曦", "明轩",
)
CN_MOBILE_PREFIXES = (
    "138", "139", "137", "136", "135", "134", "150", "151", "152", "157", "158", "159", "182", "183", "187",
    "188", "130", "131", "132", "155", "156", "185", "186", "133", "153", "180", "181", "189", "177", "199",
)
# Virtual-operator ranges (the risk rules of 003 flag them).
CN_VIRTUAL_PREFIXES = ("170", "171")

# province, city, district, postcode, streets (weights follow the population of online buyers)
CN_PLACES: tuple[tuple[str, str, str, str, tuple[str, ...], int], ...] = (
    ("上海市", "上海市", "浦东新区", "200120", ("世纪大道", "张杨路", "陆家嘴环路", "峨山路"), 9),
    ("上海市", "上海市", "徐汇区", "200030", ("漕溪北路", "肇嘉浜路", "天钥桥路"), 6),
    ("上海市", "上海市", "静安区", "200040", ("南京西路", "延安中路", "常德路"), 5),
    ("北京市", "北京市", "朝阳区", "100020", ("建国路", "朝阳北路", "东三环中路", "望京街"), 9),
    ("北京市", "北京市", "海淀区", "100080", ("中关村大街", "学院路", "知春路"), 7),
    ("广东省", "广州市", "天河区", "510620", ("天河路", "体育西路", "珠江新城华夏路"), 7),
    ("广东省", "深圳市", "南山区", "518057", ("科技园南路", "深南大道", "后海大道"), 8),
    ("广东省", "深圳市", "福田区", "518048", ("福华路", "益田路", "华强北路"), 5),
    ("浙江省", "杭州市", "西湖区", "310013", ("文三路", "天目山路", "教工路"), 6),
    ("浙江省", "杭州市", "余杭区", "311121", ("文一西路", "五常大道"), 4),
    ("江苏省", "南京市", "鼓楼区", "210008", ("中山北路", "湖南路", "广州路"), 4),
    ("江苏省", "苏州市", "工业园区", "215021", ("星湖街", "现代大道", "金鸡湖大道"), 4),
    ("四川省", "成都市", "武侯区", "610041", ("天府大道北段", "人民南路四段", "科华北路"), 5),
    ("湖北省", "武汉市", "洪山区", "430070", ("珞喻路", "雄楚大道", "光谷大道"), 4),
    ("陕西省", "西安市", "雁塔区", "710061", ("长安南路", "小寨东路", "高新路"), 3),
    ("重庆市", "重庆市", "渝中区", "400010", ("解放碑民族路", "中山一路", "较场口"), 3),
    ("天津市", "天津市", "和平区", "300041", ("南京路", "滨江道", "营口道"), 3),
    ("山东省", "青岛市", "市南区", "266071", ("香港中路", "东海西路", "山东路"), 3),
    ("福建省", "厦门市", "思明区", "361001", ("中山路", "湖滨南路", "莲前西路"), 3),
    ("湖南省", "长沙市", "岳麓区", "410006", ("麓山南路", "枫林三路", "潇湘中路"), 3),
    ("河南省", "郑州市", "金水区", "450008", ("花园路", "金水路", "经三路"), 3),
    ("辽宁省", "沈阳市", "和平区", "110001", ("太原北街", "中华路", "南京北街"), 2),
    ("云南省", "昆明市", "五华区", "650031", ("人民中路", "东风西路", "翠湖南路"), 2),
    ("安徽省", "合肥市", "蜀山区", "230031", ("长江西路", "黄山路", "潜山路"), 2),
    ("黑龙江省", "哈尔滨市", "道里区", "150010", ("中央大街", "友谊路", "经纬街"), 1),
    ("海南省", "海口市", "龙华区", "570105", ("国贸大道", "滨海大道", "金龙路"), 1),
    ("新疆维吾尔自治区", "乌鲁木齐市", "天山区", "830002", ("解放南路", "人民路", "新华北路"), 1),
    ("西藏自治区", "拉萨市", "城关区", "850000", ("北京中路", "江苏路", "林廓北路"), 1),
    ("青海省", "西宁市", "城东区", "810007", ("八一路", "东关大街"), 1),
)
CN_COMMUNITIES = ("阳光花园", "翠湖苑", "锦绣江南", "金色家园", "紫荆公寓", "绿地世纪城", "万科城市花园", "香樟苑")

US_FIRST = ("James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Emily",
            "Daniel", "Olivia", "Matthew", "Sophia", "Andrew", "Grace")
US_LAST = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson", "Anderson",
           "Taylor", "Thomas", "Moore", "Martin", "Lee", "Clark")
JP_FIRST = ("Haruto", "Yui", "Sota", "Hina", "Ren", "Aoi", "Yuto", "Sakura", "Riku", "Mei", "Kenji", "Yuki")
JP_LAST = ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi", "Kato")
DE_FIRST = ("Lukas", "Anna", "Leon", "Mia", "Felix", "Emma", "Jonas", "Hannah", "Paul", "Lena", "Maximilian", "Sophie")
DE_LAST = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Koch")

# country → (state/prefecture, city, postcode, streets with a house number placeholder)
FOREIGN_PLACES: dict[str, tuple[tuple[str, str, str, tuple[str, ...]], ...]] = {
    "US": (
        ("NY", "New York", "10118", ("{n} 5th Avenue", "{n} Broadway", "{n} W 34th Street")),
        ("CA", "Los Angeles", "90012", ("{n} S Spring Street", "{n} Wilshire Blvd")),
        ("CA", "San Francisco", "94105", ("{n} Market Street", "{n} Mission Street")),
        ("WA", "Seattle", "98101", ("{n} Pike Street", "{n} 4th Avenue")),
        ("TX", "Austin", "78701", ("{n} Congress Avenue", "{n} W 6th Street")),
        ("IL", "Chicago", "60601", ("{n} N Michigan Avenue", "{n} E Randolph Street")),
        ("MA", "Boston", "02108", ("{n} Beacon Street", "{n} Tremont Street")),
    ),
    "JP": (
        ("Tokyo", "Shibuya-ku", "150-0002", ("{n}-21-1 Shibuya", "{n}-6-1 Jingumae")),
        ("Tokyo", "Minato-ku", "106-0032", ("{n}-10-1 Roppongi", "{n}-7-1 Akasaka")),
        ("Osaka", "Osaka-shi Kita-ku", "530-0001", ("{n}-1-3 Umeda", "{n}-4-5 Sonezaki")),
        ("Kyoto", "Kyoto-shi Shimogyo-ku", "600-8216", ("{n} Higashishiokoji-cho",)),
        ("Kanagawa", "Yokohama-shi Nishi-ku", "220-0012", ("{n}-2-1 Minatomirai",)),
    ),
    "DE": (
        ("Berlin", "Berlin", "10117", ("Unter den Linden {n}", "Friedrichstraße {n}")),
        ("Bayern", "München", "80331", ("Marienplatz {n}", "Kaufingerstraße {n}")),
        ("Hamburg", "Hamburg", "20354", ("Jungfernstieg {n}", "Neuer Wall {n}")),
        ("Hessen", "Frankfurt am Main", "60313", ("Zeil {n}", "Große Bockenheimer Straße {n}")),
        ("Nordrhein-Westfalen", "Köln", "50667", ("Hohe Straße {n}", "Schildergasse {n}")),
    ),
}
FOREIGN_NAMES = {"US": (US_FIRST, US_LAST), "JP": (JP_FIRST, JP_LAST), "DE": (DE_FIRST, DE_LAST)}


@dataclass(frozen=True)
class Address:
    country: str
    province: str | None
    city: str
    district: str | None
    street: str
    postcode: str | None


@dataclass
class CustomerSpec:
    name: str
    phone: str  # as the customer typed it (national format)
    phone_e164: str
    email: str | None
    account: str
    country: str
    vip_level: int
    addresses: list[Address] = field(default_factory=list)
    risky: bool = False  # a virtual-operator number: the risk rules intercept such orders
    weight: float = 1.0  # how often this customer orders


def _valid(number: str, region: str) -> str | None:
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_number(rng: random.Random, country: str, *, virtual: bool = False) -> tuple[str, str]:
    """(as typed, E.164) — a valid mobile number of the country."""
    for _ in range(100):
        if country == "CN":
            prefixes = CN_VIRTUAL_PREFIXES if virtual else CN_MOBILE_PREFIXES
            typed = rng.choice(prefixes) + f"{rng.randrange(10**8):08d}"
        elif country == "US":
            typed = f"({rng.choice(('212', '415', '206', '312', '617', '512', '213'))}) 555-01{rng.randrange(100):02d}"
        elif country == "JP":
            typed = f"0{rng.choice('789')}0-{rng.randrange(1000, 10000)}-{rng.randrange(10000):04d}"
        elif country == "DE":
            typed = f"0{rng.choice(('151', '152', '160', '170', '171', '176'))} {rng.randrange(10**7, 10**8)}"
        else:
            raise ValueError(country)
        e164 = _valid(typed, country)
        if e164 is not None:
            return typed, e164
    raise RuntimeError(f"no valid {country} number found")  # pragma: no cover


def cn_address(rng: random.Random) -> Address:
    province, city, district, postcode, streets, _ = rng.choices(CN_PLACES, weights=[p[5] for p in CN_PLACES])[0]
    street = f"{rng.choice(streets)}{rng.randint(1, 1500)}号"
    if rng.random() < 0.6:
        street += f"{rng.choice(CN_COMMUNITIES)}{rng.randint(1, 30)}栋{rng.randint(1, 32)}{rng.randint(1, 4):02d}室"
    return Address("CN", province, city, district, street, postcode)


def foreign_address(rng: random.Random, country: str) -> Address:
    state, city, postcode, streets = rng.choice(FOREIGN_PLACES[country])
    street = rng.choice(streets).format(n=rng.randint(1, 999) if country != "JP" else rng.randint(1, 9))
    if country == "US" and rng.random() < 0.4:
        street += f", Apt {rng.randint(1, 40)}{rng.choice('ABCD')}"
    return Address(country, state, city, None, street, postcode)


def make_customers(rng: random.Random, count: int, *, foreign_share: float = 0.12) -> list[CustomerSpec]:
    customers: list[CustomerSpec] = []
    seen_phones: set[str] = set()
    while len(customers) < count:
        n = len(customers)
        foreign = rng.random() < foreign_share
        country = rng.choices(("US", "JP", "DE"), weights=(5, 3, 2))[0] if foreign else "CN"
        risky = not foreign and rng.random() < 0.03
        typed, e164 = phone_number(rng, country, virtual=risky)
        if e164 in seen_phones:
            continue
        seen_phones.add(e164)
        if country == "CN":
            name = rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)
            email = f"buyer{100000 + n * 7 + rng.randrange(7)}@example.com" if rng.random() < 0.5 else None
            addresses = [cn_address(rng) for _ in range(rng.choice((1, 1, 1, 2)))]
        else:
            firsts, lasts = FOREIGN_NAMES[country]
            first, last = rng.choice(firsts), rng.choice(lasts)
            name = f"{first} {last}"
            local = f"{first}.{last}".lower()
            for letter, ascii_ in (("ü", "ue"), ("ö", "oe"), ("ä", "ae"), ("ß", "ss")):
                local = local.replace(letter, ascii_)
            email = f"{local}{rng.randrange(10, 99)}@example.{rng.choice(('com', 'org', 'net'))}"
            addresses = [foreign_address(rng, country)]
        customers.append(
            CustomerSpec(
                name=name, phone=typed, phone_e164=e164, email=email, account=f"u{rng.randrange(10**9, 10**10)}",
                country=country, vip_level=0, addresses=addresses, risky=risky, weight=rng.lognormvariate(0, 0.6),
            )
        )
    # About one customer in eight is a VIP (levels 1–3, the higher the rarer); VIPs order more often.
    regular = [c for c in customers if not c.risky]
    for i, customer in enumerate(rng.sample(regular, max(1, len(regular) // 8))):
        customer.vip_level = 1 if i % 6 < 3 else (2 if i % 6 < 5 else 3)
        customer.weight *= 1 + 2 * customer.vip_level
    return customers

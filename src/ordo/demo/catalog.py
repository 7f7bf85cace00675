"""The demo's reference data as plain values: shops, warehouses, SKUs and their stock profiles.

Nothing here touches the database; ``loader.py`` writes it. The catalog is built from product
templates multiplied by their variants (sizes, colours, capacities) so that it is large without
being repetitive to read.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from ordo.channel.model import ChannelKind
from ordo.kernel.money import quantize
from ordo.policy import Trait


@dataclass(frozen=True)
class ShopSpec:
    code: str
    name: str
    channel: ChannelKind
    weight: int  # share of the domestic (or, for the global shops, cross-border) orders
    cross_border: bool = False


SHOPS: tuple[ShopSpec, ...] = (
    ShopSpec("tmall", "天猫旗舰店", ChannelKind.MARKETPLACE, 18),
    ShopSpec("jd", "京东旗舰店", ChannelKind.MARKETPLACE, 15),
    ShopSpec("pdd", "拼多多官方店", ChannelKind.MARKETPLACE, 9),
    ShopSpec("douyin", "抖音小店", ChannelKind.MARKETPLACE, 8),
    ShopSpec("web-cn", "Ordo 官方商城", ChannelKind.WEB, 9),
    ShopSpec("app-cn", "Ordo App", ChannelKind.APP, 10),
    ShopSpec("wechat-mini", "微信小程序商城", ChannelKind.MINI_PROGRAM, 10),
    ShopSpec("store-sh", "上海南京西路门店", ChannelKind.OFFLINE, 4),
    ShopSpec("b2b-email", "企业采购（邮件下单）", ChannelKind.EMAIL, 2),
    ShopSpec("partner-api", "分销商开放接口", ChannelKind.API, 5),
    ShopSpec("amazon-us", "Amazon US Store", ChannelKind.MARKETPLACE, 5, cross_border=True),
    ShopSpec("global-web", "Ordo Global Store", ChannelKind.WEB, 5, cross_border=True),
)

# Shops whose buyers pay online after the order is created (a payment callback follows).
ONLINE_CHECKOUT = ("web-cn", "app-cn", "wechat-mini", "global-web")
# Shops that offer cash on delivery.
COD_SHOPS = ("web-cn", "app-cn", "wechat-mini")


@dataclass(frozen=True)
class WarehouseSpec:
    code: str
    name: str
    kind: str
    country: str
    region: str
    serves: tuple[str, ...]
    capabilities: tuple[str, ...]
    priority: int
    user: str  # the warehouse user scoped to it


INTERNATIONAL = ("US", "JP", "DE", "GB", "FR", "CA", "AU", "SG", "KR")

WAREHOUSES: tuple[WarehouseSpec, ...] = (
    WarehouseSpec("WH-SH", "上海嘉定综合仓", "domestic", "CN", "上海", INTERNATIONAL, ("export",), 10, "wh_sh"),
    WarehouseSpec("WH-GZ", "广州白云仓", "domestic", "CN", "广东", ("JP", "SG", "KR", "AU"), ("export",), 20, "wh_gz"),
    WarehouseSpec("WH-BJ", "北京顺义冷链仓", "domestic", "CN", "北京", (), ("cold_chain",), 30, "wh_bj"),
    WarehouseSpec("WH-LAX", "Los Angeles Overseas Warehouse", "overseas", "US", "California", ("US", "CA"), (),
                  10, "wh_lax"),
)


class StockProfile(StrEnum):
    NORMAL = "normal"
    SCARCE = "scarce"  # a handful of units, restocked now and then: orders compete for them
    SOLD_OUT = "sold_out"  # none in any warehouse: every order for it is backordered


@dataclass(frozen=True)
class SkuSpec:
    code: str
    name: str
    category: str
    traits: tuple[Trait, ...]
    price: Decimal  # CNY
    weight_g: int
    dims_mm: tuple[int, int, int]
    hs_code: str
    popularity: float
    profile: StockProfile = StockProfile.NORMAL
    overseas: bool = False  # also stocked in the overseas warehouse

    def has(self, trait: Trait) -> bool:
        return trait in self.traits


F, L, P, E, B, X = Trait.FRAGILE, Trait.LIQUID, Trait.PERISHABLE, Trait.ELECTRONICS, Trait.BULKY, Trait.PROHIBITED

# category, code prefix, HS code, popularity of the category, overseas-friendly
CATEGORIES: dict[str, tuple[str, str, float, bool]] = {
    "tea": ("TEA", "0902300000", 1.2, True),
    "kitchen": ("KIT", "6912001000", 1.0, True),
    "electronics": ("ELC", "8517130000", 1.1, True),
    "home_appliance": ("APL", "8516600000", 0.7, False),
    "furniture": ("FUR", "9401610000", 0.3, False),
    "beauty": ("BEA", "3304990000", 1.2, True),
    "grocery": ("GRO", "1904100000", 1.4, False),
    "fresh": ("FRS", "0805100000", 1.0, False),
    "apparel": ("APP", "6109100000", 1.0, True),
    "baby": ("BAB", "1901101000", 0.8, False),
    "books": ("BOK", "4901990000", 0.6, True),
    "sports": ("SPT", "9506910000", 0.6, True),
    "wine": ("WIN", "2204210000", 0.5, False),
    "toys": ("TOY", "9503008900", 0.7, True),
    "flammable": ("FLM", "2710129100", 0.0, False),
    "party": ("PTY", "3604100000", 0.0, False),
    "controlled_knives": ("KNF", "8211930000", 0.0, False),
}

# category, base name, traits, price, weight in grams, variant axes (each a list of labels, or of
# (label, price) pairs), stock profile
_Variants = list[list[str] | list[tuple[str, str]]]
TEMPLATES: list[tuple[str, str, tuple[Trait, ...], str, int, _Variants, StockProfile]] = [
    ("tea", "西湖龙井 明前特级", (), "168", 300, [[("100g", "168"), ("250g", "398")]], StockProfile.NORMAL),
    ("tea", "安溪铁观音 清香型", (), "128", 300, [[("250g", "128"), ("500g", "238")]], StockProfile.NORMAL),
    ("tea", "云南普洱熟茶饼 357g", (), "198", 450, [], StockProfile.NORMAL),
    ("tea", "武夷山大红袍", (), "158", 250, [[("125g", "158"), ("250g", "298")]], StockProfile.NORMAL),
    ("tea", "洞庭碧螺春 100g", (), "138", 200, [], StockProfile.NORMAL),
    ("tea", "福鼎白茶寿眉饼 300g", (), "168", 400, [], StockProfile.NORMAL),
    ("tea", "祁门红茶 200g", (), "118", 260, [], StockProfile.NORMAL),
    ("tea", "茉莉花茶 250g", (), "68", 300, [], StockProfile.NORMAL),
    ("tea", "陈皮普洱 小青柑 礼盒", (), "228", 600, [], StockProfile.NORMAL),
    ("kitchen", "陶瓷马克杯 350ml", (F,), "39.90", 380, [["白色", "雾蓝", "燕麦", "墨黑"]], StockProfile.NORMAL),
    ("kitchen", "真空保温杯 500ml", (), "129", 420, [["星空黑", "奶油白", "樱花粉", "松石绿"]], StockProfile.NORMAL),
    ("kitchen", "玻璃保鲜盒 三件套", (F,), "59", 1200, [], StockProfile.NORMAL),
    ("kitchen", "不锈钢炒锅 32cm", (), "199", 2100, [], StockProfile.NORMAL),
    ("kitchen", "竹制砧板", (), "49", 900, [["小号", "大号"]], StockProfile.NORMAL),
    ("kitchen", "骨瓷餐具 16件套", (F,), "299", 4200, [], StockProfile.NORMAL),
    ("kitchen", "铸铁珐琅锅 24cm", (F,), "599", 4800, [["红色", "藏青"]], StockProfile.NORMAL),
    ("electronics", "降噪蓝牙耳机 Pro", (E,), "899", 260, [["象牙白", "曜石黑", "远峰蓝"]], StockProfile.NORMAL),
    ("electronics", "快充移动电源 20000mAh", (E,), "149", 420, [["白色", "黑色"]], StockProfile.NORMAL),
    ("electronics", "智能手表 S3", (E,), "1299", 300, [["41mm", "45mm"], ["午夜色", "星光色"]], StockProfile.NORMAL),
    ("electronics", "智能手机 X20", (E,), "4999",
     480, [[("128G", "4999"), ("256G", "5699")], ["曜石黑", "冰川银", "晴空蓝"]], StockProfile.NORMAL),
    ("electronics", "智能手机 X20 Ultra 512G", (E,), "7999", 520, [], StockProfile.SCARCE),
    ("electronics", "平板电脑 11英寸 WiFi", (E,), "2999", 900, [["128G", "256G"]], StockProfile.NORMAL),
    ("electronics", "轻薄笔记本电脑 14英寸", (E,), "6999", 1800, [["16G+512G", "32G+1T"]], StockProfile.NORMAL),
    ("electronics", "机械键盘 87键", (E,), "399", 1100, [["青轴", "红轴", "茶轴"]], StockProfile.NORMAL),
    ("electronics", "无线鼠标", (E,), "129", 200, [["黑色", "白色"]], StockProfile.NORMAL),
    ("electronics", "27英寸 4K 显示器", (E, F), "1899", 6500, [], StockProfile.NORMAL),
    ("electronics", "游戏主机 周年限定版", (E,), "3999", 4500, [], StockProfile.SOLD_OUT),
    ("home_appliance", "空气炸锅 5L", (E,), "399", 4200, [], StockProfile.NORMAL),
    ("home_appliance", "IH电饭煲 3L", (E,), "459", 3800, [], StockProfile.NORMAL),
    ("home_appliance", "扫地机器人 T8", (E,), "2499", 5200, [], StockProfile.NORMAL),
    ("home_appliance", "电热水壶 1.7L", (E,), "89", 1300, [], StockProfile.NORMAL),
    ("home_appliance", "双开门冰箱 450L", (E, B), "3999", 85000, [], StockProfile.NORMAL),
    ("home_appliance", "滚筒洗衣机 10kg", (E, B), "2799", 70000, [], StockProfile.NORMAL),
    ("home_appliance", "立式空调 3匹", (E, B), "6499", 60000, [], StockProfile.NORMAL),
    ("furniture", "布艺沙发 三人位", (B,), "2999", 55000, [["浅灰", "燕麦色"]], StockProfile.NORMAL),
    ("furniture", "实木书桌 1.2m", (B,), "1299", 32000, [], StockProfile.NORMAL),
    ("furniture", "人体工学椅", (B,), "899", 18000, [], StockProfile.NORMAL),
    ("furniture", "乳胶床垫 1.8m", (B,), "2599", 30000, [], StockProfile.NORMAL),
    ("furniture", "五层书架", (B,), "499", 21000, [], StockProfile.NORMAL),
    ("beauty", "玻尿酸精华液 30ml", (L,), "269", 150, [], StockProfile.NORMAL),
    ("beauty", "保湿面霜 50g", (), "199", 180, [], StockProfile.NORMAL),
    ("beauty", "木质调淡香水 50ml", (L, F), "459", 320, [], StockProfile.NORMAL),
    ("beauty", "氨基酸洗面奶 120g", (L,), "89", 160, [], StockProfile.NORMAL),
    ("beauty", "清爽防晒霜 SPF50", (L,), "129", 90, [], StockProfile.NORMAL),
    ("beauty", "丝绒哑光口红", (), "229", 40, [["#101", "#206", "#316", "#520", "#888", "#999"]], StockProfile.NORMAL),
    ("beauty", "修护眼霜 15ml", (), "329", 80, [], StockProfile.NORMAL),
    ("grocery", "压榨花生油 5L", (L,), "129", 4800, [], StockProfile.NORMAL),
    ("grocery", "特级生抽 1L", (L,), "19.90", 1200, [], StockProfile.NORMAL),
    ("grocery", "五常稻花香大米 5kg", (), "89", 5100, [], StockProfile.NORMAL),
    ("grocery", "每日坚果 30袋", (), "139", 800, [], StockProfile.NORMAL),
    ("grocery", "土蜂蜜 500g", (L,), "79", 700, [], StockProfile.NORMAL),
    ("grocery", "柳州螺蛳粉 5袋", (), "59", 1600, [], StockProfile.NORMAL),
    ("grocery", "挂耳咖啡 20包", (), "99", 300, [["深烘", "中烘"]], StockProfile.NORMAL),
    ("grocery", "老北京酸梅汤 12瓶", (L,), "69", 4000, [], StockProfile.NORMAL),
    ("fresh", "阳澄湖大闸蟹 8只装", (P,), "598", 2500, [], StockProfile.NORMAL),
    ("fresh", "赣南脐橙 5kg", (P,), "69", 5200, [], StockProfile.NORMAL),
    ("fresh", "智利车厘子 JJ级 2kg", (P,), "299", 2200, [], StockProfile.SCARCE),
    ("fresh", "挪威冰鲜三文鱼 500g", (P,), "189", 700, [], StockProfile.NORMAL),
    ("fresh", "澳洲谷饲牛排套餐", (P,), "259", 1500, [], StockProfile.NORMAL),
    ("fresh", "广东妃子笑荔枝 2.5kg", (P,), "129", 2700, [], StockProfile.NORMAL),
    ("fresh", "丹东红颜草莓 1kg", (P,), "89", 1200, [], StockProfile.NORMAL),
    ("fresh", "低温鲜牛奶 12瓶", (P, L), "99", 3300, [], StockProfile.NORMAL),
    ("fresh", "云南高山娃娃菜 5斤", (P,), "39.90", 2600, [], StockProfile.NORMAL),
    ("apparel", "纯棉圆领T恤", (), "79", 220, [["S", "M", "L", "XL", "XXL"], ["白色", "黑色", "灰色"]],
     StockProfile.NORMAL),
    ("apparel", "轻薄羽绒服", (), "499", 500, [["M", "L", "XL", "XXL"], ["黑色", "藏青", "米白"]], StockProfile.NORMAL),
    ("apparel", "缓震跑鞋", (), "599", 800, [["39", "40", "41", "42", "43", "44", "45"], ["黑白", "荧光绿"]],
     StockProfile.NORMAL),
    ("apparel", "直筒牛仔裤", (), "259", 600, [["28", "30", "32", "34", "36"]], StockProfile.NORMAL),
    ("apparel", "联名限量球鞋", (), "1299", 900, [], StockProfile.SOLD_OUT),
    ("apparel", "真丝围巾", (), "399", 120, [["酒红", "墨绿", "香槟"]], StockProfile.NORMAL),
    ("baby", "婴儿配方奶粉 3段 900g", (), "328", 1200, [], StockProfile.SCARCE),
    ("baby", "超薄纸尿裤", (), "129", 1800, [["M", "L", "XL"]], StockProfile.NORMAL),
    ("baby", "高景观婴儿推车", (B,), "1599", 12000, [], StockProfile.NORMAL),
    ("baby", "儿童安全座椅", (B,), "1299", 10000, [], StockProfile.NORMAL),
    ("baby", "婴儿湿巾 80抽×6包", (), "49", 2000, [], StockProfile.NORMAL),
    ("books", "《三体》全集", (), "93", 1300, [], StockProfile.NORMAL),
    ("books", "《活着》", (), "45", 300, [], StockProfile.NORMAL),
    ("books", "《Python 编程：从入门到实践》", (), "99", 900, [], StockProfile.NORMAL),
    ("books", "儿童绘本套装 10册", (), "168", 2000, [], StockProfile.NORMAL),
    ("books", "《中国国家地理》年度合集", (), "288", 3000, [], StockProfile.NORMAL),
    ("books", "《红楼梦》典藏版", (), "128", 1500, [], StockProfile.NORMAL),
    ("sports", "TPE 瑜伽垫 6mm", (), "99", 1100, [["紫色", "蓝色"]], StockProfile.NORMAL),
    ("sports", "可调节哑铃 20kg", (), "299", 20000, [], StockProfile.NORMAL),
    ("sports", "双人露营帐篷", (), "599", 3500, [], StockProfile.NORMAL),
    ("sports", "碳纤维公路自行车", (B,), "3599", 9000, [], StockProfile.NORMAL),
    ("sports", "羽毛球拍 对拍", (), "199", 400, [], StockProfile.NORMAL),
    ("wine", "波尔多干红葡萄酒 750ml", (L, F), "168", 1400, [], StockProfile.NORMAL),
    ("wine", "53度酱香型白酒 500ml 限量版", (L, F), "1499", 1200, [], StockProfile.SCARCE),
    ("wine", "精酿啤酒 24罐", (L,), "139", 9000, [], StockProfile.NORMAL),
    ("toys", "积木 城市消防局", (), "399", 1500, [], StockProfile.NORMAL),
    ("toys", "毛绒熊猫公仔", (), "89", 400, [["小号", "中号", "大号"]], StockProfile.NORMAL),
    ("toys", "遥控越野车", (E,), "299", 1400, [], StockProfile.NORMAL),
    ("toys", "拼图 1000片 故宫", (), "69", 700, [], StockProfile.NORMAL),
    ("tea", "正山小种红茶", (), "88", 200, [[("100g", "88"), ("250g", "198")]], StockProfile.NORMAL),
    ("beauty", "烟酰胺美白精华", (L,), "239", 120, [[("30ml", "239"), ("50ml", "359")]], StockProfile.NORMAL),
    ("grocery", "手工挂面 2kg", (), "39", 2100, [], StockProfile.NORMAL),
    ("grocery", "有机燕麦片 1kg", (), "49", 1050, [], StockProfile.NORMAL),
    ("grocery", "黑芝麻丸 礼盒", (), "89", 700, [], StockProfile.NORMAL),
    ("grocery", "云南小粒咖啡豆 500g", (), "119", 550, [["深烘", "中烘", "浅烘"]], StockProfile.NORMAL),
    ("books", "《百年孤独》", (), "55", 450, [], StockProfile.NORMAL),
    ("books", "《人类简史》", (), "68", 600, [], StockProfile.NORMAL),
    ("books", "《围城》", (), "39", 350, [], StockProfile.NORMAL),
    ("books", "《明朝那些事儿》全集", (), "198", 2600, [], StockProfile.NORMAL),
    ("books", "《小王子》中英双语", (), "36", 250, [], StockProfile.NORMAL),
    ("sports", "速干运动短裤", (), "129", 180, [["M", "L", "XL", "XXL"]], StockProfile.NORMAL),
    ("home_appliance", "负离子吹风机", (E,), "299", 700, [["月光白", "玫瑰金", "深空灰"]], StockProfile.NORMAL),
    ("home_appliance", "破壁料理机", (E,), "699", 5000, [], StockProfile.NORMAL),
    ("kitchen", "不粘平底锅 28cm", (), "159", 1300, [], StockProfile.NORMAL),
    ("kitchen", "手冲咖啡壶套装", (F,), "259", 1500, [], StockProfile.NORMAL),
    ("electronics", "Type-C 快充数据线 2m", (E,), "39", 80, [["白色", "黑色"]], StockProfile.NORMAL),
    ("electronics", "65W 氮化镓充电器", (E,), "149", 150, [["白色", "黑色"]], StockProfile.NORMAL),
    ("toys", "儿童益智磁力片 100片", (), "199", 1800, [], StockProfile.NORMAL),
    ("baby", "纯棉婴儿连体衣", (), "89", 150, [["59", "66", "73", "80", "90"]], StockProfile.NORMAL),
    ("fresh", "海南金钻凤梨 4个", (P,), "79", 5000, [], StockProfile.NORMAL),
    ("fresh", "东北鲜食玉米 10根", (P,), "59", 3000, [], StockProfile.NORMAL),
    # On the prohibited list: in the catalogue, refused at intake, never in a demo order.
    ("flammable", "户外打火机油 355ml", (L,), "25", 400, [], StockProfile.NORMAL),
    ("party", "烟花礼盒", (X,), "199", 3000, [], StockProfile.NORMAL),
    ("controlled_knives", "户外折叠刀", (), "159", 250, [], StockProfile.NORMAL),
]


def _ean13(body: str) -> str:
    digits = [int(c) for c in body]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return f"{body}{check}"


def barcode(sku_index: int) -> str:
    """A valid EAN-13 in the GS1 China range (690–699)."""
    return _ean13(f"6923456{sku_index:05d}")


def build_catalog(rng: random.Random) -> list[SkuSpec]:
    """Every SKU of the templates; deterministic for a given generator state."""
    skus: list[SkuSpec] = []
    counters: dict[str, int] = {}
    for category, base, traits, price, weight, axes, profile in TEMPLATES:
        prefix, hs_code, category_popularity, overseas_ok = CATEGORIES[category]
        combos: list[tuple[str | tuple[str, str], ...]] = list(itertools.product(*axes)) if axes else [()]
        for combo in combos:
            labels, sku_price = [], Decimal(price)
            for part in combo:
                if isinstance(part, tuple):
                    labels.append(part[0])
                    sku_price = Decimal(part[1])
                else:
                    labels.append(part)
            counters[prefix] = counters.get(prefix, 0) + 1
            name = " ".join([base, *labels])
            popularity = category_popularity * rng.lognormvariate(0, 0.8)
            if profile != StockProfile.NORMAL:
                popularity *= 0.3
            size = max(60, int((weight / 0.3) ** (1 / 3)))
            skus.append(
                SkuSpec(
                    code=f"{prefix}-{counters[prefix]:04d}", name=name, category=category, traits=traits,
                    price=quantize(sku_price, "CNY"), weight_g=weight, dims_mm=(size + 40, size + 20, size),
                    hs_code=hs_code,
                    popularity=popularity, profile=profile,
                    overseas=overseas_ok and B not in traits and profile == StockProfile.NORMAL
                    and rng.random() < 0.45,
                )
            )
    return skus


def orderable(sku: SkuSpec, prohibited_categories: tuple[str, ...]) -> bool:
    return X not in sku.traits and sku.category not in prohibited_categories

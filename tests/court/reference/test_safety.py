from pathlib import Path

import pytest

from bench.nlu_eval import load_examples
from court.reference.safety import danger_signs, domestic_violence, emergency_numbers, light_injury, suspect_relative

ROOT = Path(__file__).resolve().parents[3]
FOLDERS = [ROOT / "nlu_data" / "nlu", ROOT / "tests" / "nlu", ROOT / "tests" / "nlu_real"]
EXAMPLES = [pair for folder in FOLDERS for pair in load_examples(folder)]


@pytest.mark.parametrize("text", ["他拿刀在门口堵我", "救命啊他还在打", "活着没意思不想活了", "老公喝多了要弄死我",
                                  "邻居说要放火烧房子"])
def test_danger_words_are_caught(text):
    assert danger_signs(text)


@pytest.mark.parametrize("text", ["楼上漏水", "去年被打了一顿想要赔偿", "欠钱不还", ""])
def test_ordinary_disputes_are_not_flagged(text):
    assert not danger_signs(text)


def test_every_labelled_emergency_is_caught():
    emergencies = [text for text, intent in EXAMPLES if intent == "emergency"]
    assert len(emergencies) > 250
    assert [text for text in emergencies if not danger_signs(text)] == []


def test_no_labelled_dispute_is_flagged():
    disputes = [text for text, intent in EXAMPLES if intent.startswith("dispute_")]
    assert len(disputes) > 5000
    assert [text for text in disputes if danger_signs(text)] == []


# Written by hand, not taken from the NLU data: danger now, short and long, as residents type.
@pytest.mark.parametrize("text", [
    "救命啊 俺家老头子拿菜刀要砍俺",
    "他喝多了在屋里砸东西，说要弄死俺娘俩，俺现在躲在仓房里",
    "快来人啊 俺家房子着了 火老大了",
    "俺不活了 这日子没法过了",
    "活着太没意思了 我想从桥上跳下去",
    "我觉得活着没什么意义了",
    "俺刚喝了半瓶农药 肚子疼得厉害",
    "我老公正在打我 孩子在旁边哭",
    "屋里煤气味老大了 孩子迷迷糊糊的",
    "俺爹倒在院子里叫不醒了 咋整啊",
    "孩子掉冰窟窿里了 快来人",
    "俺家孩子一眨眼就不见了，刚才还在门口玩呢",
    "有个人一直跟着我 我现在在超市里不敢出去",
    "前夫在门口踹门 说今天非弄死我不可",
    "我姐发微信说对不起大家 现在电话关机了",
    "炉子没封好 一屋子烟 俺妈晕过去了",
    "有人拿枪在村部门口喊要打死人",
    "俺家老太太噎住了 脸都憋紫了",
    "他把俺按在地上掐脖子 俺好不容易跑出来了 他还在后面追",
    "出事了 俺男人让拖拉机压在底下了 出不来",
    "有个老头倒在雪地里 一动不动",
    "我被传销的关起来了 手机是偷偷用的",
    "快 俺妈喘不上来气了",
    "俺在大兴安岭山里迷路了 天快黑了 冻得不行",
    "江上冰面塌了 有人掉下去了",
    "我被人下了药 现在头很晕 在一个不认识的地方",
    "俺家的仓房和柴火垛全烧起来了",
    "俺家小子让人用刀扎了 在胡同里躺着呢",
    "孩子从二楼阳台掉下去了",
    "我在宿舍 想割手腕",
    "有人往我家院子里扔燃烧瓶",
    "婆家几个人把我按在炕上打 我好不容易跑出来 他们在后面追",
    "我男人在屋里烧炭 门窗都关着 叫门不开",
    "有辆大车翻了 司机卡在驾驶室里出不来 油漏了一地",
    "我爸吃饭的时候突然说不出话了 一边脸耷拉下来了",
    ("俺想问问离婚财产咋分的事，俺俩结婚十五年了，房子是婚后买的写的他的名，可他刚才喝完酒回来又开始砸东西，"
     "现在拿着菜刀在客厅里转悠，说俺敢离婚就先砍了俺，俺带着闺女躲在卧室里把门顶上了"),
    ("本来想咨询拖欠工钱的事，老板欠俺们六个工人八个多月的工钱，今天俺们去工地找他，他叫来一伙人拿着钢管把俺们"
     "围在工棚里了，现在还不让走，有个工友脑袋已经被打破了一直流血"),
    ("我们家在逊克县城住，我妈有老年痴呆好几年了，今天下午趁我们不注意自己出门了，到现在天都黑了还没回来，"
     "外面零下二十多度还下着雪，她就穿了件毛衣，附近都找遍了，电话也没带，我们该找谁"),
    ("唉呀妈呀 我是住北安的 楼下那家饭店的后厨着火了 烟顺着楼道往上走 楼道里全是黑烟 我和老伴在七楼下不去 "
     "老伴腿脚还不好 这可咋整啊"),
])
def test_hand_written_emergencies_are_caught(text):
    assert danger_signs(text)


# Written by hand: civil matters with misleading words (past violence, 死, 火, 急, 跳, 救命 ...).
@pytest.mark.parametrize("text", [
    "去年跟邻居打起来了，他把我打伤了，现在想要医药费",
    "离婚的时候他打过我，现在孩子抚养费一直不给",
    "打官司要多少钱",
    "我爸在医院做手术死了，死亡赔偿金怎么算",
    "火锅店的锅炸了，汤溅我一身，店家不赔",
    "着急要钱给孩子看病，借出去的钱要不回来",
    "气死我了，物业又涨价了",
    "烦死了，楼上天天蹦迪",
    "我想跳槽，公司不给开离职证明",
    "商家说是跳楼价清仓，结果买回来是假货",
    "我想死的心都有了，装修公司把我家装成这样",
    "救命钱借给他了，到现在也不还",
    "他拿刀吓唬我的事都过去半年了，现在就想让他赔礼道歉",
    "前年被狗咬了，打了狂犬疫苗，狗主人要不要赔",
    "工地上摔下来昏迷了三天，现在出院了，工伤怎么认定",
    "邻居家烟囱冒黑烟熏得我家窗户都黑了",
    "楼道里堆满了纸壳子，万一着火了咋整",
    "饭店的油烟从排风口往我家窗户里灌，一屋子油烟味",
    "燃气灶的火苗特别小，买了才一个月，能退吗",
    "我的电动车电池鼓包冒烟了，差点着火，商家不给退",
    "孩子在游泳馆溺水了，幸亏救上来了，游泳馆有没有责任",
    "我爸杀年猪的时候被刀划伤了手，帮工的算不算工伤",
    "欠钱的那个人躲到南方去了，还能起诉吗",
    "借了我两万，现在电话关机了",
    "单位拖欠工资半年了，我们都活不下去了",
    "物业快点来人修修暖气吧，冻死了",
    "井盖没了，对行人很危险，物业也不修",
    "吃了安眠药也睡不着，楼上天天半夜蹦跶",
    "俺家的牛吃了邻居撒的农药死了",
    "快递把我的东西压坏了，气得我想杀人",
    "昨天晚上喝多了跟人打起来了，今天一看胳膊青了一块",
    "我家煤气罐是在门口小店换的，用了一个月就没气了",
    "孩子今天在学校摔了一跤，胳膊骨折了，学校要不要负责",
    "邻居家烧炭取暖，烟都飘到我家了，呛得不行",
    "我家车在院子里出不来，他把车堵在门口",
    ("去年冬天我爸在单位锅炉房值夜班，烧锅炉的时候煤烟中毒了，叫了半天才叫醒，送医院住了半个多月，现在出院了还老"
     "头疼，单位说是他自己没开窗户，不给算工伤，这个能去仲裁吗"),
    ("我家孩子上个月在学校体育课上跟同学打起来了，被对方推倒磕在台阶上，流了好多血缝了六针，老师说两个孩子都有错，"
     "对方家长就给了五百块，后续还得去拆线复查，我想让对方家长和学校一起承担医药费"),
    ("我们小区的物业太不像话了，楼道里堆满了杂物也不清理，消防通道被车堵得死死的，上回隔壁单元电动车着火了，"
     "消防车都进不来，幸亏没出人命，我们业主想联合起来换物业，需要走什么程序"),
])
def test_hand_written_civil_matters_are_not_flagged(text):
    assert not danger_signs(text)


# --- what the advice says -------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("我老公天天打我", True), ("家暴好几年了", True), ("后爸打孩子", True), ("婆婆动手打我", True),
    ("邻居打了我一顿", False), ("老公不给生活费", False), ("他打官司赢了", False),
])
def test_domestic_violence(text, expected):
    assert domestic_violence(text) is expected


@pytest.mark.parametrize("text, numbers", [
    ("楼上漏水", ["110"]), ("砍伤了，流了好多血", ["110", "120"]), ("着火了", ["110", "119"]),
    ("我不想活了", ["110", "12356"]), ("我老公打我", ["110", "12338"]), ("有人打孩子", ["110", "12338"]),
])
def test_emergency_numbers(text, numbers):
    assert emergency_numbers(text) == numbers


@pytest.mark.parametrize("text, relative", [
    ("我儿子被派出所抓走了", True), ("老公被刑拘了能取保吗", True), ("骗子被抓了", False), ("我被人骗了", False),
])
def test_suspect_relative(text, relative):
    assert suspect_relative(text) is relative


def test_light_injury():
    assert light_injury("被他打成轻伤") and light_injury("打伤了我的腿") and not light_injury("他骂了我")

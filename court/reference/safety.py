"""A keyword safety net under the NLU: danger happening now always brings the emergency advice,
and the words around it choose which numbers and answers a resident gets.

The model misses some emergencies (see `make eval`); a resident in danger must
get the emergency numbers even then, in whatever branch the dialogue takes.
Civil stories use the same words about the past (a fight last year, a stay in
hospital, a child who fainted at school), so the cues come in three strengths:
- danger by itself: a call for help, suicidal words, a threat to kill or burn,
  gas or fire spreading, someone hiding or writing in secret;
- serious scenes (a weapon in hand, heavy bleeding, unconscious, a child gone):
  they count unless the message reads as a civil story and nothing says "now";
- weak scenes (a fight, a blocked door, being lost): they count only with "now".
"""
from __future__ import annotations

import re


def _any(*parts: str) -> str:
    return "(?:" + "|".join(parts) + ")"


# --- Building blocks. ---

_C = r"[^，。,.！!？?；;]"  # a character inside the same clause
_ME = r"(?:我|俺|你|他|她)(?:们)?(?![家的电手])"  # a person as object, not 他家的狗 or 我电话
_KIN = _any(r"孩子", r"小孩", r"闺女", r"女儿", r"儿子", r"老人", r"老爷子", r"老太太", r"老头", r"奶奶", r"爷爷",
            r"姥爷", r"姥姥", r"爸", r"妈", r"爹", r"娘", r"老伴", r"媳妇", r"弟", r"妹", r"姐", r"哥")
_WEAPON = _any(r"刀", r"斧", r"(?<![水温喷气焊])枪", r"棍", r"棒子", r"铁锹", r"镰刀", r"镐把", r"钢管", r"砖头?",
               r"石头", r"锤子", r"酒瓶", r"剪子", r"剪刀", r"板凳", r"皮带", r"电棍", r"擀面杖")
_POISON = _any(r"农药", r"消毒水", r"消毒液", r"敌敌畏", r"百草枯", r"老鼠药", r"耗子药")
# "hit", but not 打官司/打工/打电话/打针/打折 ...
_HIT = r"打(?!官司|工|电话|听|针|吊瓶|球|牌|麻将|算|字|卡|款|钱|扫|架子|疫苗|药|的|电|手机|车|火|折|个)"

# === Danger by itself, whatever else the message says. ===

# The resident calls for rescue, or drops the civil question because of danger.
_HELP = _any(
    r"救命(?![钱费的恩稻])", r"快(?:点)?(?:来|派)人(?!修|看|管|处理)", r"来人(?:啊|呀|吧)", r"快(?:点)?救",
    r"救救(?:我|俺|他|她|孩子)(?!们)", r"^救人", r"快(?:点)?报警", r"(?:要|得)出人命了",
    r"(?:我|俺)(?:现在)?(?:就)?(?:很|有|挺)危险", r"顾不上了", r"不要问我")

# Suicidal thoughts, self-harm, a farewell message, someone on a roof edge now.
_SELF_HARM = _any(
    r"不想(?:再)?活", r"不活了", r"活够了", r"(?<!都)活不下去", r"活不成了",  # not 我们都活不下去 (hard times)
    r"活着(?:真|太|也)?(?:没意思|没劲|太累)", r"活着(?:真|太|也|还)?(?:没|有)(?:什么|啥)?(?:意思|意义|劲|盼头)",
    r"(?<!得)想死(?!的心)", r"结束(?:自己的)?生命", r"寻短见", r"寻死", r"自杀(?![的过])", r"轻生", r"割(?:手)?(?:腕|脉)",
    r"手腕上划", r"想不开", r"死给.{0,2}看", r"同归于尽", r"(?:我|俺)(?:真的?|实在|快)?撑不(?:下去|住)", r"永别", r"遗书",
    r"这辈子就这样吧",
    r"(?:一起|一块儿?)(?:死|跳下去|跳楼|跳江|跳河)", r"带着" + _C + r"{0,4}(?:去|一起|一块儿?)死", r"跳楼(?!价)", r"跳(?:江|河|桥|崖)", r"卧轨",
    r"跳进.{0,3}(?:江|河|水)", r"(?:要|想|就|说|敢)(?:从.{0,6})?跳下(?:去|来)",
    r"(?:要|想|去)喝(?:了)?药", r"服毒", r"(?:屋|车|卫生间)" + _C + r"{0,3}烧炭", r"(?:要|想)(?:把)?煤气(?:打开|开开)", r"开煤气", r"上吊",
    r"拿着绳子", r"(?:攥|拿)着.{0,4}农药", r"里面有农药", r"一堆药片", r"(?:药|绳子)" + _C + r"{0,4}(?:准备|买)好了",
    r"把" + _C + r"{0,6}药(?:片)?(?:都|全)(?:吃|喝)了",
    r"(?:吃|吞|喝)了.{0,6}(?:一整?[瓶板盒把]|半瓶|好多|很多|一大把|家里的).{0,6}(?:药|片)",
    r"(?:说|发).{0,8}对不起.{0,12}(?:不接|关机|挂了|联系不上)",
    r"(?:现在|正)(?:就)?(?:在|坐|站)在?.{0,10}(?:楼顶|天台|窗台|窗户外|空调架|塔吊|桥上|房顶|江边|河边)")

# A stated intention to kill, maim, burn or abduct: danger before the blow falls.
_THREAT = _any(
    r"(?<!得)(?<!得我)(?:要|来|就|想|扬言|非要|去)杀(?:了)?(?:我|俺|你|他|她|人|全家|谁)",  # not 气得我想杀人
    r"杀了?" + _ME, r"杀.{0,2}全家", r"(?:砍|捅|掐|弄|劈|打|烧)死" + _ME,
    r"(?:要|就|说|想|非要?|非得|扬言)(?:把" + _ME + r")?(?:砍|捅|掐|弄|劈|烧)死", r"把" + _ME + _C + r"{0,3}打死",
    r"劈了" + _ME, r"人都?放倒", r"(?:要|就|说)(?:把" + _ME + r")?打残",
    r"(?:要|就|说|再|敢|非得?|得)把?" + _C + r"{0,4}(?:打断|打折|卸|剁)" + _C + r"{0,4}(?:腿|手|胳膊)",
    r"(?:要|就|说|再|敢|非得?|得)把" + _ME + _C + r"{0,4}(?:腿|手)(?:打断|打折|剁|卸)",
    r"(?:接着|还要|继续)" + _HIT + "(?:" + _ME + r")?(?=[，。,！!\s]|$)",
    r"(?:接着|还要|继续|等会儿?|回来|明天)(?:再)?" + _HIT + _ME,
    r"(?:要|来|就|找人)收拾(?:我|俺|你)(?:们)?(?![的家东屋])", r"(?:要|来|就|说)(?:弄|揍|削)(?:我|俺|你)(?![的家们])",
    r"不让我好过", r"划几刀", r"(?:不开门|敢报警)就", r"(?:要|就|说|想)把(?:我|俺|她|他|人|" + _KIN + r")(?:扔|推)下",
    r"(?:要|就|想|说|扬言)放火", r"(?:要|就|说|扬言)点火", r"拿着打火机", r"烧房子", r"一起点了",
    r"(?:要|就|来|扬言)烧(?:了|掉)?(?:我|俺|你|他|她|房|全家|家|人(?!家))",
    r"泼" + _C + r"{0,3}汽油", r"(?:拎|拿|提|带)着" + _C + r"{0,4}汽油", r"手里有汽油",
    r"别想见人", r"(?:不给|不还)钱" + _C + r"{0,4}别想见", r"绑架", r"撕票", r"燃烧瓶", r"被(?:人)?绑(?:走|了|架)")

# Fire spreading, smoke in the stairwell, gas leaking, a dam breaking.
_HAZARD = _any(
    r"火已经(?:窜|烧到)", r"火(?:头|苗子?|势)?(?:越来越大|越烧越大|特别大|太大|老大|借着风|往上窜|顺着)",
    r"火星子" + _C + r"{0,6}落到", r"烟从楼道", r"楼道里?全是(?:黑)?烟",
    r"(?:煤气|燃气|天然气|液化气)(?:罐|管|灶)?(?:好像)?(?:泄)?漏", r"(?:煤气|燃气|臭鸡蛋)味",
    r"(?:是不是|怀疑是?)(?:煤烟|煤气|一氧化碳)中毒",
    r"堤坝?" + _C + r"{0,4}(?:冲开|决口|垮)", r"水已经漫", r"决堤")

# Someone hiding, barricaded, or writing in secret: the scene is going on.
_HIDING = _any(
    r"(?:(?:我|俺)(?:们)?|孩子)" + _C + r"{0,6}躲(?:在|到|进|着)" + _C + r"{0,4}"
    r"(?:厕所|卫生间|里屋|后屋|卧室|邻居家|仓房|车里|保安室|储藏室|楼道|柜|床底|办公室)",
    r"顶着门", r"顶住门", r"用" + _C + r"{0,3}顶着", r"插上门", r"锁着车门",
    r"(?:我|俺)(?:是)?" + _C + r"{0,10}偷(?:偷|着)发的", r"偷(?:偷|着)给你们",
    r"偷(?:偷|着)" + _C + r"{0,8}(?:用|借)的(?:手机|电话)", r"(?:手机|电话)" + _C + r"{0,2}是偷(?:偷|着)用的",
    r"偷(?:偷|着)用" + _C + r"{0,6}(?:手机|平板|电话手表)" + _C + r"{0,2}发的",
    r"趁" + _C + r"{0,4}不注意" + _C + r"{0,6}发", r"这是借的手机", r"借别人(?:的)?手机",
    r"(?:还|都)不让(?:我|俺)(?:打电话|报警)", r"先别打电话")

# === Serious scenes: danger unless the message reads as a civil story told afterwards. ===

# Weapons in hand, beatings, stabbings, strangling, intruders.
_ATTACK = _any(
    r"(?:拿|拎|提|握|举|掏|攥|抄|抡|动)(?:着|起|出|了)?" + _C + r"{0,6}" + _WEAPON, r"手里有" + _C + r"{0,3}" + _WEAPON,
    r"刀架", _HIT + r"(?:我|俺|她|人|孩子)(?![的电手])", r"挨打", r"家暴", r"(?:正|还|就|现)在(?:被)?" + _HIT,
    r"追着?(?:我|俺|人|砍|喊)", r"(?:掐|勒)(?:着|住)?" + _C + r"{0,4}脖子", r"(?:按|摁)在" + _C + r"{0,4}(?:地|床|炕|沙发|车|墙)",
    r"往(?:墙|桌子|地|门)上(?:撞|磕)", r"打得" + _C + r"{0,4}(?:鼻青脸肿|满脸|头破|起不来|站不起来|下不来|动不了)", r"(?:打|疼|摔)(?:晕|昏)", r"炸(?:伤|死)",
    r"头" + _C + r"{0,2}打破", r"围着.{0,2}打", r"被" + _C + r"{0,3}(?:捅|砍)",
    r"(?:被|让|叫)(?:人|他|她)?(?:用|拿)" + _C + r"{0,3}" + _WEAPON + _C + r"{0,2}(?:捅|砍|扎|划)",
    r"挨了一刀", r"(?:砍|捅)(?:了)?(?:人|门|俺|我)(?![家这那的])",
    r"(?:外面|门口|门外)有人" + _C + r"{0,3}(?:砸|踹|撬|敲)", r"有人(?:在)?(?:砸|踹|撬)", r"踹" + _C + r"{0,4}门",
    r"有.{0,2}人" + _C + r"{0,4}(?:爬|翻|闯|钻)(?:进|到|上)", r"有人" + _C + r"{0,6}(?:想|要)进来", r"(?:小偷|贼|人)还在(?:不在)?(?:屋|家|院)",
    r"(?:拍|拽)(?:我)?(?:的)?车门", r"开车撞人", r"乱撞", r"撞了好几个",
    r"(?:我|俺|她|他|人|" + _KIN + r")被" + _C + r"{0,3}撞(?:飞|倒|了)")

# Bleeding, unconscious, not breathing, stroke, poison or an object swallowed.
_BODY = _any(
    r"流(?!了?点)" + _C + r"{0,4}血", r"出了(?:好多|很多|一地|不少)血", r"血(?:流了一地|一直流|止不住|还在|顺着)",
    r"(?:满脸|满身|浑身|一身)(?:是|都是)?血", r"身(?:子|上)(?:都)?(?:冰)?凉", r"全是血", r"见血", r"吐血", r"大出血", r"肠子(?:都)?(?:出来|流出)",
    r"(?:叫|喊)不(?:醒|起来)", r"叫" + _C + r"{0,4}不(?:太|怎么)?(?:应|答应|应声|吱声)", r"(?:叫|喊)" + _C + r"{0,4}没反应",
    r"(?:下面|里面)(?:也)?没动静", r"(?:人|地上|躺着?)(?:也)?不动(?:了|弹)", r"一动不动", r"不省人事",
    r"(?:人|快|已经)没气了", r"不喘气", r"没(?:了)?(?:呼吸|心跳)", r"(?<!差点)晕(?:倒|过去)", r"昏迷", r"抽搐", r"抽(?:过去|风)", r"吐白沫",
    r"喘不(?:上|过|动)(?:来)?(?:气)?", r"上不来气", r"(?:脸|嘴唇)" + _C + r"{0,3}紫", r"噎住", r"被蛇咬",
    r"(?:躺|倒)在.{0,4}(?:地|雪地|马路|路|道)上", r"嘴(?:也)?歪", r"(?:半边|一边)(?:脸|身子)", r"(?<!得)说不出话", r"说话" + _C + r"{0,2}不清",
    r"(?<![牛羊猪狗鸡鸭鹅马])(?:喝|吃|吞)(?:了)?.{0,4}" + _POISON, _POISON + r".{0,2}(?:喝|吃|吞)了",
    r"被" + _C + r"{0,3}下(?:了)?药", r"误吞", r"吞(?:了|下)(?:一|个|颗|块|枚)", r"把自己(?:反)?(?:锁|关)在")

# Fire, smoke and gas indoors, explosions (civil stories tell of past fires and smoky chimneys).
_FIRE = _any(
    r"(?:家|屋|房|楼|车|店|厂|院|仓房|炕)(?:里|子)?(?:着|起)火了", r"(?<![万怕点会])(?:着|起)(?:大)?火了(?!咋|怎么)",
    r"烧着了", r"烧起来", r"放(?:了)?(?:一把)?火(?!烧荒|炮)", r"(?<![真怕才])着起(?:来|火)", r"煤烟(?:味|中毒)",
    r"屋里?全是(?:黑)?烟", r"(?:满|一)屋子?(?:都是)?烟", r"(?:锅炉|罐|压力|怕)" + _C + r"{0,4}要炸", r"爆炸",
    r"(?:可疑|奇怪)的包", r"炸弹")

# Trapped, drowning, falling, flood, someone on a roof edge.
_TRAPPED = _any(
    r"(?:压|卡|困)在(?:下面|底下|里面|车里)", r"(?:压|埋)着" + _C + r"{0,4}人", r"(?:压|卡|困)在" + _C + r"{0,6}出不来",
    r"在(?:里面|屋里|下面)" + _C + r"{0,2}出不来",
    r"(?<![机西匙包])掉(?:进|到)?.{0,4}(?:冰窟窿|河|江|水|菜窖|井)", r"有人" + _C + r"{0,4}掉(?:下去|进|到)",
    r"(?:人|" + _KIN + r")(?:也)?掉(?:进|下)去了", r"从" + _C + r"{0,6}(?:楼顶|楼上|桥上|窗户)" + _C + r"{0,2}跳下",
    r"(?:人|" + _KIN + r")从" + _C + r"{0,8}(?:掉|摔)下(?:去|来)了",
    r"落水", r"(?:游泳|江|河|水库|水里).{0,12}没(?:浮)?上来", r"溺水", r"冲走", r"冰(?:面)?(?:突然)?(?:裂|塌)", r"推下去", r"摔下去",
    r"发大水", r"洪水",
    r"(?:困|卡|关)在" + _C + r"{0,6}电梯", r"电梯" + _C + r"{0,8}卡(?:住|在)",
    r"(?:站|坐|爬)(?:在|到).{0,6}(?:楼顶|天台|窗台|窗户外|空调架|塔吊|桥栏|房顶)")

# A relative missing or taken, someone locked in, held or followed.
_MISSING_HELD = _any(
    _KIN + r"(?!的).{0,16}(?:找不着|找不到|没找着|不见了|没回(?:来|家)|抱走|被?拐(?:走|跑|卖|了))",
    r"(?:孩子|小孩|人)(?:也)?丢了", r"到现在(?:都|也|还)?没回(?:来|家)", r"找遍了",
    r"(?:到处|四处|周围|附近)(?:都)?找(?:遍|不着|不到)(?=了|[，。,\s]|$)", r"(?:电话|手机)(?:也|一直)?关机", r"被拐",
    r"(?:把|被)(?:我|俺|她|他|人|" + _KIN + r")(?!的)" + _C + r"{0,6}(?:拖|拉|拽|抢|抱|塞|架)(?:走|上车|进)",
    r"被" + _C + r"{0,4}骗到", r"被" + _C + r"{0,6}(?:拉|拽|抢|抱|塞)(?:上|进)" + _C + r"{0,5}车",
    r"(?:把|给)(?:我|俺|她|他|我们|俺们|人|" + _KIN + r")(?:和.{1,4})?.{0,2}(?:反)?(?:锁|关|堵|围|困)(?:在|住|屋|起来)",
    r"被" + _C + r"{0,6}(?:反)?(?:锁|关|困)(?:在|屋|起来)",
    r"被" + _C + r"{0,8}(?:人|男|女|他|她|们|伙)(?:给)?(?:锁|关|堵|围|困)(?:在|住|着|屋|起来)", r"从外面(?:锁|别|反锁)",
    r"(?:收|抢|拿)(?:了|走)(?:我|俺|她|他)(?:的)?手机", r"(?:手机|电话)" + _C + r"{0,4}(?:收走|拿走|抢走?了|摔了|要走|收了|没收)",
    r"跟踪(?:我|俺)", r"一直" + _C + r"{0,4}跟着(?:我|俺)", r"甩不(?:掉|开)", r"(?:还|后面)跟着", r"蹲我")

# === Weak scenes: fights, damage, blocked doors, cold. Civil stories tell these every day. ===

_WEAK = _any(
    r"打(?:他|起来|仗)", r"动手", r"砸" + _C + r"{0,6}(?:门|窗|车|东西|玻璃)", r"摔东西", r"发酒疯", r"冲(?:进|过来|到)",
    r"翻(?:墙|进)", r"抢(?:钱|走)", r"撬", r"拖着(?:我|俺)", r"拽", r"(?:堵|围)(?:在|住|着)", r"不让" + _C + r"{0,2}(?:走|出|进|下)",
    r"(?:出|下|回)不去", r"出不来", r"守着", r"在外面", r"赶出来", r"冒(?:黑)?烟", r"倒(?:在)?地", r"倒下", r"起不来",
    r"动不了", r"走不了", r"栽下去", r"倒在", r"摔(?:到|进)?(?:沟|坑|崖)", r"(?:腿|胳膊|骨头)(?:摔|打)?断了", r"迷路", r"意识不.{0,2}清", r"吐了一地",
    r"一直吐", r"害怕", r"拿着东西",
    r"要把" + _C + r"{0,6}带走", r"转悠", r"来回转", r"在(?:屋|院|门口|楼下|外面|街上|村)" + _C + r"{0,3}转", r"全身都疼",
    r"冻(?:麻|僵|得不行)", r"不敢(?:下车|出去|出门|开门|出声|下楼|回家|进去|动)")

# === When the message is told. ===

# "Now": the scene is going on as the resident writes.
_NOW = _any(
    r"正在", r"还在" + _C + r"{0,8}?(?:打|砸|追|踹|骂|找|转|流|扑腾|冒|烧|蹲|等|堵|守|站|躺|喊)",
    r"还在(?:门口|门外|外面|外头|屋|院|楼|下面|地上|水里|上面|里面|江|河|房顶|车|后面)",
    r"刚才", r"刚刚", r"刚(?:出门|松开|进门|接到|下晚自习)", r"就在(?:门口|门外|楼下|后面|后边|外面|院|屋|我家)",
    r"这会儿", r"此刻", r"就现在", r"现在(?:就|还|正|都)?(?:在|躲|躺|往|拿|站|坐|堵|守|跑)", r"现在" + _C + r"{0,4}还(?:不让|在|被)",
    r"今晚", r"(?:一会儿|等会儿?)(?:还|就|接着|再)", r"马上就?(?:来|到)", r"随时会", r"天(?:都|快|要)?黑了", r"零下",
    r"快(?:来|点|救)", r"急急", r"^(?:着)?急", r"(?:我|俺|她|" + _KIN + r")(?:现在)?一个人在(?:家|山|野外|江边|河边)",
    r"本来(?:是)?想(?:问|咨询)", r"躲(?:在|到|着)", r"又(?:倒车)?回来了")

# "Today" also tells of things that happened this morning; it is enough for serious scenes only.
_TODAY = r"今天"

# The story has already ended (hospital, police, court): "now" words then describe the aftermath.
_CLOSED = _any(
    r"没救过来", r"救上来", r"抢救过来", r"送(?:到)?" + _C + r"{0,4}医院", r"住院", r"出院", r"住了" + _C + r"{0,3}院",
    r"缝了", r"治好", r"验伤", r"鉴定", r"签定", r"判了", r"做了笔录", r"私了", r"立案", r"报案")

# The small negation step: a civil story (compensation, courts, past or habitual events, the
# other side refusing) tells serious scenes after the fact, so they then need a "now" word.
_CIVIL = _any(
    r"赔", r"陪", r"补偿", r"医药费", r"误工", r"起诉", r"告", r"法院", r"官司", r"调解", r"轻微伤", r"轻伤", r"伤",
    r"离婚", r"抚养", r"赡养", r"彩礼", r"工伤", r"保险", r"(?<!离)医院", r"诊所", r"抢救", r"判", r"律师", r"谅解",
    r"认定", r"证据", r"退", r"要(?:到|回)?钱", r"要回", r"工资", r"欠", r"借", r"合同", r"开除", r"辞退", r"派出所",
    r"能不能", r"算不算", r"合理", r"咋处理", r"找谁", r"说法", r"追责", r"责任", r"正常",
    r"去年", r"前年", r"上个?月", r"上次", r"上回", r"那次", r"幸亏", r"当时", r"后来", r"之前", r"昨天", r"昨晚", r"前天",
    r"天天", r"每天", r"老是", r"老在", r"总是", r"经常", r"好几回", r"好几次", r"一辈子", r"一(?:烧|生|点)(?:火|炉子?|炕)",
    r"万一", r"要是", r"说是", r"烧(?:了|坏|没|毁)", r"拆了", r"不认(?!识)", r"不承认", r"不管", r"不关", r"不出钱", _CLOSED)

_ALWAYS_RE = re.compile(f"{_HELP}|{_SELF_HARM}|{_THREAT}|{_HAZARD}|{_HIDING}")
_SERIOUS_RE = re.compile(f"{_ATTACK}|{_BODY}|{_FIRE}|{_TRAPPED}|{_MISSING_HELD}")
_WEAK_RE = re.compile(_WEAK)
_NOW_RE = re.compile(_NOW)
_TODAY_RE = re.compile(_TODAY)
_CLOSED_RE = re.compile(_CLOSED)
_CIVIL_RE = re.compile(_CIVIL)


def danger_signs(text: str) -> bool:
    text = text or ""
    if _ALWAYS_RE.search(text):
        return True
    if _CLOSED_RE.search(text):  # told after hospital, police or court: "now" is the aftermath
        now = today = False
    else:
        now, today = bool(_NOW_RE.search(text)), bool(_TODAY_RE.search(text))
    civil = bool(_CIVIL_RE.search(text))
    if _SERIOUS_RE.search(text):
        return now or today or not civil
    if _WEAK_RE.search(text):
        return now or (today and not civil)
    return False


# --- What the advice says: which numbers, violence in the family, who is asking. ---

# Hurt people need 120, fire 119, a crisis of the mind 12356.
_INJURY = re.compile(r"(流血|出血|昏迷|晕过去|骨折|受伤|伤得|砍伤|打伤|喝药|割腕|起不来)")
_FIRE_WORDS = re.compile(r"(着火|失火|放火|烧房子|火灾|冒烟)")
_CRISIS = re.compile(r"(自杀|不想活|活不下去|轻生|跳楼|跳河|喝药|上吊|割腕|想死)")
# Violence, and the family it happens in.
_VIOLENCE = re.compile(r"(家暴|家庭暴力|打我|打了我|被打|挨打|殴打|动手|拳打脚踢|扇我|踹我|掐我|掐脖子|"
                       r"往死里打|打老婆|打媳妇|打孩子|打娃|虐待|拿刀|砍我|要杀|弄死|打死我)")
_FAMILY = re.compile(r"(家暴|家庭暴力|老公|丈夫|爱人|对象|媳妇|老婆|妻子|前夫|前妻|我男人|公公|婆婆|"
                     r"儿子|女儿|继父|继母|后爸|后妈|我爸|我妈|父亲|母亲|孩子他爸|孩子他妈|家里人)")
_CHILD = re.compile(r"(孩子|娃|儿子|女儿|未成年)")
# A relative held by the police, and a victim hurt badly enough for a criminal case.
_HELD = re.compile(r"(被抓|抓走|抓起来|被拘|拘留|刑拘|逮捕|被带走|带走了|关进|看守所|取保)")
_RELATIVE = re.compile(r"(儿子|女儿|老公|丈夫|媳妇|老婆|对象|我爸|我妈|父亲|母亲|哥哥|弟弟|姐姐|妹妹|家人|亲戚|孩子)")
_LIGHT_INJURY = re.compile(r"(轻伤|重伤|伤情鉴定|打伤|砍伤|打成|骨折)")


def domestic_violence(text: str) -> bool:
    """Violence between family members, as residents describe it."""
    text = text or ""
    return bool(_VIOLENCE.search(text) and _FAMILY.search(text))


def violence_signs(text: str) -> bool:
    return bool(_VIOLENCE.search(text or ""))


def emergency_numbers(text: str) -> list[str]:
    """The numbers to call, in order, for what the resident describes; 110 first."""
    text = text or ""
    numbers = ["110"]
    if _INJURY.search(text):
        numbers.append("120")
    if _FIRE_WORDS.search(text):
        numbers.append("119")
    if _CRISIS.search(text):
        numbers.append("12356")
    if domestic_violence(text) or (violence_signs(text) and _CHILD.search(text)):
        numbers.append("12338")
    return numbers


def suspect_relative(text: str) -> bool:
    """A relative of someone the police hold is asking, not a victim."""
    text = text or ""
    return bool(_HELD.search(text) and _RELATIVE.search(text))


def light_injury(text: str) -> bool:
    return bool(_LIGHT_INJURY.search(text or ""))

"""A keyword safety net under the NLU: danger words always bring the emergency
advice, and the words around them choose which numbers and answers a resident gets.

The model misses some emergencies (see `make eval`); a resident in danger must
get the emergency numbers even then, in whatever branch the dialogue takes.
"""
from __future__ import annotations

import re

_DANGER = re.compile(
    r"(拿刀|动刀|砍死|砍我|杀了我|要杀|弄死|打死我|救命|自杀|不想活|跳楼|跳河|喝药|上吊|"
    r"正在打|还在打|往死里打|把我锁|关起来不让|掐我脖子|掐脖子|放火|烧房子|绑架|着火|失火)"
)
# Hurt people need 120, fire 119, a crisis of the mind 12356.
_INJURY = re.compile(r"(流血|出血|昏迷|晕过去|骨折|受伤|伤得|砍伤|打伤|喝药|割腕|起不来)")
_FIRE = re.compile(r"(着火|失火|放火|烧房子|火灾|冒烟)")
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


def danger_signs(text: str) -> bool:
    return bool(_DANGER.search(text or ""))


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
    if _FIRE.search(text):
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

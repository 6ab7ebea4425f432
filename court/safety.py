"""A keyword safety net under the NLU: danger words always bring the 110 advice.

The model misses some emergencies (see `make eval`); a resident in danger must
get the emergency numbers even then, in whatever branch the dialogue takes.
"""
from __future__ import annotations

import re

_DANGER = re.compile(
    r"(拿刀|动刀|砍死|砍我|杀了我|要杀|弄死|打死我|救命|自杀|不想活|跳楼|跳河|喝药|上吊|"
    r"正在打|还在打|往死里打|把我锁|关起来不让|掐我脖子|掐脖子|放火|烧房子|绑架)"
)


def danger_signs(text: str) -> bool:
    return bool(_DANGER.search(text or ""))

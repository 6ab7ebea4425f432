"""Triage rules the dialogue follows with the model's reading of a resident's story.

Plain Python, shared by the assistant's actions, the NLU cue component and the
evaluation, so that what `make eval` measures is what residents get.
"""
from __future__ import annotations

import functools
import re
from typing import Iterable, Optional, Sequence

import yaml

from court.core.settings import DATA_DIR
from court.reference.safety import danger_signs

DISPUTE_PREFIX = "dispute_"
ROUTED_AWAY = ("emergency", "criminal", "administrative")  # never people's mediation
ROUTED_TITLES = {"emergency": "正在发生危险", "criminal": "刑事案件", "administrative": "政府部门的决定"}
OPTIONS_WHEN_UNSURE = 2

# Words that make a story a criminal matter whatever civil story surrounds it: a question about
# punishment, custody or the criminal process, or an injury graded 轻伤 or worse.
_CRIMINAL = re.compile(
    r"(判几年|判多少年|判刑|判缓|缓刑|坐牢|蹲监狱|进监狱|取保候审|取保|看守所|刑拘|刑事拘留|逮捕|批捕|"
    r"公诉|刑事案件|刑事责任|刑事和解|刑事附带民事|谅解书|出具谅解|自诉|"
    r"轻伤[一二]?级?|重伤[一二]?级?|故意伤害罪|寻衅滋事罪|诈骗罪|盗窃罪|交通肇事罪|醉驾|危险驾驶罪)"
)
_NOT_CRIMINAL = re.compile(r"轻微伤")
# A decision of a public body: reconsideration or an administrative suit, never people's mediation.
_ADMINISTRATIVE = re.compile(
    r"(城管|综合执法|执法局|行政处罚|行政复议|行政诉讼|民告官|强拆|征收决定|拆迁决定|"
    r"吊销.{0,4}(执照|驾照|驾驶证|许可)|"
    r"(政府|乡政府|镇政府|街道办|派出所|公安局|交警|市场监管|工商|税务|环保|自然资源|住建|卫健委?|人社局)"
    r".{0,10}(罚款|罚了|处罚|没收|收走|扣了|扣押|查封|拆了|决定))")


@functools.lru_cache(maxsize=1)
def _hints() -> dict[str, str]:
    return yaml.safe_load((DATA_DIR / "triage_hints.yaml").read_text(encoding="utf-8"))


def hint(label: str) -> str:
    """One line in plain words saying what a label covers (shown beside the buttons when unsure)."""
    return _hints().get(label, "")


def is_triage_label(name: str) -> bool:
    return name.startswith(DISPUTE_PREFIX) or name in ROUTED_AWAY


def clarify_options(ranking: Iterable[str], count: int = OPTIONS_WHEN_UNSURE) -> list[str]:
    """The labels offered as buttons when the model is unsure: its best triage labels, in order."""
    return [name for name in ranking if is_triage_label(name)][:count]


def overriding_label(text: str) -> Optional[str]:
    """``emergency`` or ``criminal`` when the text carries their cues, whatever else it says."""
    if danger_signs(text):
        return "emergency"
    if criminal_cues(text):
        return "criminal"
    return None


def administrative_cues(text: str) -> bool:
    return bool(_ADMINISTRATIVE.search(text or ""))


def not_mediable(text: str) -> Optional[str]:
    """``criminal`` or ``administrative`` when a booking's summary describes a matter people's
    mediation cannot take (checked again at booking, whatever the conversation said before)."""
    if criminal_cues(text):
        return "criminal"
    if administrative_cues(text):
        return "administrative"
    return None


def criminal_cues(text: str) -> bool:
    cleaned = _NOT_CRIMINAL.sub("", text or "")
    return bool(_CRIMINAL.search(cleaned))


def one_click(gold: str, top: str, ranking: Sequence[str], *, unsure: bool) -> bool:
    """Whether a resident reaches the right card at once or with one press on an offered button."""
    if not unsure:
        return top == gold
    return gold in clarify_options(ranking)


# --- is someone trying to be understood? ------------------------------------------

_HAN = re.compile(r"[\u4e00-\u9fff]")
MIN_HAN = 3  # "我要离婚" is trying; "啊", "？？", "😡" or a keyboard mash is not


def reads_as_trying(texts: list[str]) -> bool:
    """Whether the messages that were not understood read as a person describing something:
    Chinese words in most of them, and not the same thing over and over. Emoji, noise and
    repeated junk are not handed to the 12368 queue automatically."""
    typed = [re.sub(r"\s+", "", t or "") for t in texts if t and not t.startswith("/")]
    if len(typed) < 2:
        return False
    wordy = [t for t in typed if len(_HAN.findall(t)) >= MIN_HAN and len(set(t)) >= MIN_HAN]
    return len(wordy) * 2 > len(typed) and len(set(wordy)) >= 2

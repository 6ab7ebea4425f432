"""The wording of the agreement and the application as a list of blocks, which the
printable page and the DOCX both render: the two can never say different things."""
from __future__ import annotations

from dataclasses import dataclass

from court.mediation.agreement_documents import Documents, date_text
from court.reference import legal

# 人民调解法第29条: when the agreement takes effect and who keeps a copy.
EFFECT = ("本协议自各方当事人签名、盖章或者按指印，人民调解员签名并加盖人民调解委员会印章之日起生效。"
          "本协议由当事人各执一份，人民调解委员会留存一份。")
# What the parties undertake in a joint application (人民调解协议司法确认程序若干规定第5条).
PROMISES = (
    "一、双方当事人出于解决纠纷的目的自愿达成协议，没有恶意串通、规避法律的行为；",
    "二、如果因为该协议内容而给他人造成损害的，愿意承担相应的民事责任和其他法律责任。",
)
ORDINALS = "一二三四五六七八九十"


@dataclass(frozen=True)
class Block:
    kind: str  # title, meta, heading, para, sign
    text: str


def _party_lines(docs: Documents, label: str) -> list[Block]:
    return [Block("para", f"{label}{ORDINALS[n]}：{p.name}，公民身份号码{p.id_number}，住址{p.address}。")
            for n, p in enumerate(docs.parties)]


def agreement(docs: Documents) -> list[Block]:
    blocks = [Block("title", "人民调解协议书"),
              Block("meta", f"编号：{docs.reference}（第{docs.revision}版）"),
              Block("heading", "当事人")]
    blocks += _party_lines(docs, "当事人")
    blocks += [
        Block("heading", "纠纷主要事实、争议事项"), Block("para", docs.facts),
        Block("heading", "经人民调解，当事人自愿达成如下协议"), Block("para", docs.terms),
        Block("heading", "履行方式、时限"), Block("para", docs.performance),
        Block("para", EFFECT),
        # The legal table's wording (court/reference/data/legal_statements.yaml), then the court art. 205 names.
        Block("para", legal.statement("jc.optional").text + f"受理法院：{docs.court}。"),
    ]
    blocks += [Block("sign", f"当事人（签名或按指印）：{p.name}　　　　　　") for p in docs.parties]
    blocks += [
        Block("sign", f"人民调解员（签名）：{docs.mediator}　　　　　　"),
        Block("sign", f"调解组织：{docs.organisation}（盖章）"),
        Block("sign", f"{date_text(docs.effective_on)}"),
    ]
    return blocks


def application(docs: Documents) -> list[Block]:
    when = date_text(docs.effective_on)
    blocks = [Block("title", "司法确认申请书"),
              Block("meta", f"调解协议编号：{docs.reference}（第{docs.revision}版）"),
              Block("heading", "申请人")]
    blocks += _party_lines(docs, "申请人")
    blocks += [
        Block("heading", "请求事项"),
        Block("para", f"请求确认申请人于{when}经{docs.organisation}调解达成的调解协议有效。"),
        Block("heading", "事实和理由"),
        Block("para", f"申请人之间的纠纷：{docs.facts}"),
        Block("para", f"经{docs.organisation}调解，申请人于{when}自愿达成调解协议，协议内容如下：{docs.terms}"
                      f"履行方式、时限：{docs.performance}"),
        Block("para", "依据《中华人民共和国人民调解法》第三十三条、《中华人民共和国民事诉讼法》第二百零五条，"
                      "申请人自调解协议生效之日起30日内共同提出本申请。"),
        Block("heading", "申请人承诺"),
        *[Block("para", line) for line in PROMISES],
        Block("para", "此致"),
        Block("para", docs.court),
    ]
    blocks += [Block("sign", f"申请人（签名或按指印）：{p.name}　　　　　　") for p in docs.parties]
    blocks += [
        Block("sign", "　　　　年　　月　　日"),
        Block("para", "附：1. 人民调解协议书一份；2. 申请人身份证明复印件各一份。"),
    ]
    return blocks


BUILDERS = {"agreement": agreement, "application": application}


def blocks(docs: Documents, kind: str) -> list[Block]:
    return BUILDERS[kind](docs)


def footer(docs: Documents, url: str) -> list[str]:
    """The lines beside the QR code: what a reader checks a copy by."""
    return [f"案件编号：{docs.reference}　第{docs.revision}版　出具日期：{date_text(docs.issued_on)}",
            f"文书校验码：{docs.check_code}", f"扫码或访问以下网址核验：{url}"]

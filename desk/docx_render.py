"""The agreement and the application as DOCX (python-docx): what a clerk opens in Word or
WPS, corrects if needed and prints for signing. A4, SimSun (宋体), the QR code of the
verification link at the foot."""
from __future__ import annotations

import io

import segno
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from court.mediation.agreement_documents import Documents
from desk import document_blocks

FONT = "宋体"
_SIZES = {"title": Pt(22), "meta": Pt(10.5), "heading": Pt(14), "para": Pt(14), "sign": Pt(14)}


def _font(run, size) -> None:
    run.font.name = FONT
    run.font.size = size
    run._element.rPr.rFonts.set(qn("w:eastAsia"), FONT)  # Word takes CJK text's font from here


def render(docs: Documents, kind: str, url: str) -> bytes:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(25)
    section.top_margin = section.bottom_margin = Mm(20)
    doc.core_properties.title = f"{docs.title(kind)} {docs.reference}"
    doc.core_properties.subject = docs.check_code
    for block in document_blocks.blocks(docs, kind):
        for n, line in enumerate(block.text.split("\n")):
            paragraph = doc.add_paragraph()
            run = paragraph.add_run(line)
            _font(run, _SIZES[block.kind])
            if block.kind == "title":
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
                run.bold = True
            elif block.kind == "meta":
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            elif block.kind == "heading":
                run.bold = True
            elif block.kind == "sign":
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            elif n == 0:
                paragraph.paragraph_format.first_line_indent = Pt(28)
    image = io.BytesIO()
    segno.make_qr(url, error="m").save(image, kind="png", scale=4, border=2)
    image.seek(0)
    doc.add_picture(image, width=Mm(28))
    for line in document_blocks.footer(docs, url):
        _font(doc.add_paragraph().add_run(line), Pt(9))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()

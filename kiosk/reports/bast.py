"""The BAST (*Berita Acara Serah Terima*): the handover report the office files after a
distribution, with its recipients and the signature blocks of the officials and witnesses."""

from __future__ import annotations

from ..i18n import hari_tanggal_indonesian, indonesian, tanggal_indonesian
from ..models import Distribution
from .lists import claimed_not_handed_over, clock, non_recipients, recipients
from .pdf import a4_pdf, dots, esc, grid_table, letterhead, paragraph_styles, usable_width


def bast_pdf(distribution: Distribution, office: str = "Dinas Ketenagakerjaan",
             regency: str = "Kabupaten Muara Enim", address: str = "") -> bytes:
    """The BAST (handover report) of ``distribution`` as an A4 PDF: letterhead, number and date,
    what was handed over, the recipient table (header repeated on each page), packages left,
    the packages claimed but not handed over apart (not part of the handover), signature blocks
    for the official, the receiver and two witnesses; "Halaman X dari Y"."""
    from reportlab.lib.units import cm
    from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table

    styles = paragraph_styles()
    usable = usable_width()
    people = recipients(distribution)
    given = len(people)
    left = distribution.packages_total - given
    missing = len(non_recipients(distribution))
    unhanded = claimed_not_handed_over(distribution)
    p = lambda text, style="body": Paragraph(text, styles[style])  # noqa: E731

    story = letterhead(styles, office, regency, address)
    story += [
        Paragraph("<u>BERITA ACARA SERAH TERIMA</u>", styles["title"]),
        p(esc(indonesian("Nomor: %(number)s", number=dots(distribution.bast_number, 40))), "center"),
    ]
    if distribution.status != "closed":
        # Printed while still open: say so, so a provisional copy is never filed as the final one.
        story.append(p("<b>%s</b>" % esc(indonesian("SEMENTARA — penyaluran belum ditutup")), "center"))
    story += [
        Spacer(1, 10),
        p(esc(indonesian(
            "Pada hari ini, %(day)s, bertempat di %(place)s, telah dilaksanakan serah terima bantuan "
            "paket sembako dalam rangka %(name)s, dari pihak yang menyerahkan kepada para penerima "
            "sebagaimana tercantum dalam daftar di bawah ini.",
            day=hari_tanggal_indonesian(distribution.day), place=distribution.place or "-", name=distribution.name))),
        Spacer(1, 6),
    ]
    summary = [
        [indonesian("Barang yang diserahkan"), ":", indonesian("%(n)s paket sembako", n=given)],
        [indonesian("Isi setiap paket"), ":", distribution.contents or "-"],
        [indonesian("Jumlah paket tersedia"), ":", indonesian("%(n)s paket", n=distribution.packages_total)],
        [indonesian("Paket diserahkan"), ":", indonesian("%(n)s paket kepada %(n)s penerima", n=given)],
        [indonesian("Sisa paket"), ":", indonesian("%(n)s paket", n=left)],
        [indonesian("Penerima yang belum mengambil"), ":", indonesian("%(n)s orang", n=missing)],
    ]
    if unhanded:
        summary.insert(5, [indonesian("Diambil, belum diserahkan"), ":", indonesian(
            "%(n)s paket (termasuk sisa, tidak termasuk serah terima ini)", n=len(unhanded))])
    story.append(Table([[p(esc(a)), p(b), p(esc(c))] for a, b, c in summary],
                       colWidths=[5.8 * cm, 0.4 * cm, usable - 6.2 * cm],
                       style=[("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 0),
                              ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    story.append(Spacer(1, 8))
    story.append(p("<b>%s</b>" % esc(indonesian("Daftar penerima"))))
    story.append(Spacer(1, 4))
    heads = ["No.", "Nama", "NIK", "Desa", "Waktu", "Tempat/ Stasiun", "Diwakilkan", "No. paket"]
    data = [[Paragraph(esc(indonesian(h)), styles["cellhead"]) for h in heads]]
    for i, r in enumerate(people, 1):
        data.append([str(i), Paragraph(esc(r.name), styles["small"]), r.nik_masked,
                     Paragraph(esc(r.desa), styles["small"]), clock(r.when),
                     Paragraph(esc(r.station), styles["small"]), Paragraph(esc(r.proxy), styles["small"]),
                     str(r.seq)])
    if not people:
        data.append(["", Paragraph(esc(indonesian("Belum ada paket yang diserahkan.")), styles["small"]), "", "", "", "", "", ""])
    widths = [0.9, 3.7, 3.1, 2.6, 1.2, 2.2, 2.2, 1.1]
    story.append(grid_table(data, [usable * w / sum(widths) for w in widths], extra_styles=[
        ("FONTNAME", (0, 1), (-1, -1), "Helvetica"), ("FONTSIZE", (0, 1), (-1, -1), 8),
        ("ALIGN", (0, 1), (0, -1), "RIGHT"), ("ALIGN", (-1, 1), (-1, -1), "RIGHT"),
    ]))
    if unhanded:
        story += [Spacer(1, 8), p("<b>%s</b>" % esc(indonesian(
            "Diambil di kiosk tetapi belum diserahkan (tidak termasuk serah terima ini)"))), Spacer(1, 4)]
        heads = ["No.", "Nama", "NIK", "Desa", "Waktu ambil", "Tempat/ Stasiun", "No. paket"]
        rows = [[Paragraph(esc(indonesian(h)), styles["cellhead"]) for h in heads]]
        rows += [[str(i), Paragraph(esc(r.name), styles["small"]), r.nik_masked, Paragraph(esc(r.desa), styles["small"]),
                  clock(r.collected_at), Paragraph(esc(r.station), styles["small"]), str(r.seq)]
                 for i, r in enumerate(unhanded, 1)]
        widths = [0.9, 4.2, 3.1, 2.8, 1.6, 2.6, 1.2]
        story.append(grid_table(rows, [usable * w / sum(widths) for w in widths], extra_styles=[
            ("FONTNAME", (0, 1), (-1, -1), "Helvetica"), ("FONTSIZE", (0, 1), (-1, -1), 8),
            ("ALIGN", (0, 1), (0, -1), "RIGHT"), ("ALIGN", (-1, 1), (-1, -1), "RIGHT"),
        ]))
    story.append(Spacer(1, 10))
    closing = p(esc(indonesian(
        "Sisa paket sebanyak %(left)s paket tetap disimpan oleh %(office)s. Demikian berita acara ini "
        "dibuat dengan sebenarnya untuk dipergunakan sebagaimana mestinya.", left=left, office=office)))

    def signer(role: str, name: str, lines: list[str], above: str = "") -> list:
        # Every block starts with the same number of lines, so the names line up across columns.
        block = [p(esc(above) if above else "&nbsp;", "sign"), p(esc(role), "sign"), Spacer(1, 48),
                 p("<b><u>%s</u></b>" % esc(dots(name)), "sign")]
        block += [p(esc(line), "sign") for line in lines if line]
        return block

    half = usable / 2
    place_date = "%s, %s" % (regency.replace("Kabupaten ", ""), tanggal_indonesian(distribution.day))
    signatures = Table(
        [[signer(indonesian("Yang menerima,"), distribution.receiver_name, [distribution.receiver_title]),
          signer(indonesian("Yang menyerahkan,"), distribution.official_name,
                 [distribution.official_title,
                  indonesian("NIP %(nip)s", nip=distribution.official_nip) if distribution.official_nip else ""],
                 above=place_date)]],
        colWidths=[half, half],
        style=[("VALIGN", (0, 0), (-1, -1), "TOP")],
    )
    witnesses = Table(
        [[p("<b>%s</b>" % esc(indonesian("Saksi-saksi:")), "center"), ""],
         [signer(indonesian("Saksi I,"), distribution.witness1_name, []),
          signer(indonesian("Saksi II,"), distribution.witness2_name, [])]],
        colWidths=[half, half],
        style=[("VALIGN", (0, 0), (-1, -1), "TOP"), ("SPAN", (0, 0), (1, 0))],
    )
    story.append(KeepTogether([closing, Spacer(1, 10), signatures, Spacer(1, 10), witnesses]))

    footer = "BAST %s · %s" % (distribution.bast_number or distribution.name, tanggal_indonesian(distribution.day))
    return a4_pdf(story, title=f"BAST {distribution.name}", author=office, footer=footer,
                  subject=indonesian("Berita Acara Serah Terima"))



"""Reports the office files and reads. Plain functions over the database session (no
``request``); documents are always Bahasa Indonesia.

- ``lists``: a distribution's recipients and non-recipients (frozen at close-out or live);
- ``bast``: the BAST PDF (*Berita Acara Serah Terima*, the handover report);
- ``pdf``: what every PDF shares, and the lists to sign by hand;
- ``coverage``: coverage status per worker in SQL, per kecamatan/occupation, the coverage report;
- ``dashboard``: the staff home page's figures; ``charts``: the geometry of its two charts;
- ``audit``: the audit trail, filtered.

Sheets (XLSX/CSV) are written by ``kiosk.spreadsheets``.
"""

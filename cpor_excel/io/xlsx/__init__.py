"""The xlsx engine: a workbook package checked, mapped, and patched without losing a byte of what the tool
does not own.

- ``safety.py``: checks on the file and its zip before anything parses it (bombs, DTDs, encryption);
- ``package.py``: the map of the package (parts, relationships, sheets), opened only after those checks;
- ``inflate.py``: a big part inflated by ISA-L, with zipfile's size and CRC checks;
- ``extent.py``: a sheet's cell range, bounded from its XML before a reader builds it;
- ``scan.py``: byte-level passes over XML parts (UTF-8 view, windowed regex searches);
- ``shared_strings.py``, ``cells.py``: cell text as Excel stores it, and the XML of new cells;
- ``sheet_doc.py``: one worksheet split into rows, with the edits pending on it;
- ``added_rows.py``: the XML of a block of new rows (or new cells) built in one join, and the rows added
  past a sheet's end kept as such blocks;
- ``sheet_render.py``: a worksheet and its edits back into XML;
- ``styles.py``: the Check Result colours in ``xl/styles.xml``;
- ``zip_writer.py``: the new package, untouched parts copied raw;
- ``patch.py``: ``XlsxPatch``, the writer the ``Book`` protocol's write methods go through.
- ``chart.py``, ``dashboard_sheet.py``: native charts (DrawingML) and the Dashboard sheet that holds them.
"""

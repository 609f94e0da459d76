"""Write the byte fixtures of tests/corpus/ (files as Excel, R, Windows tools, torch and Keras
write them). Run from the repository root: ``python tests/corpus/make_corpus.py``.

Files that pandas, NumPy and pyarrow write are made by those libraries inside the tests
(tests/test_corpus.py), since they are test dependencies; these are the others, written byte
for byte as those tools write them:

- ``excel_bom.csv``: Excel "CSV UTF-8": a UTF-8 byte-order mark and CRLF line ends.
- ``excel_unicode.tsv``: Excel "Unicode text": UTF-16LE with a byte-order mark, tabs.
- ``r_write_csv.csv``: R's ``write.csv(data.frame(p = c(0.9, NA, 0.4)))``: quoted names, a
  row-name column with an empty header, ``NA`` for a missing value.
- ``european.csv``: a European locale's CSV (``;`` between fields, decimal comma).
- ``latin1.csv``: a header in latin-1 (Windows-1252), as older Excel versions save.
- ``torch_sigmoid_n1.npy`` / ``keras_predict_n1.npy``: ``np.save`` of a model's single
  output, float32 of shape (3, 1), as ``torch.sigmoid(model(x)).numpy()`` and
  ``model.predict(x)`` give it.
- ``labels.csv``: the article's labels 1, 0, 1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ARTICLE = [0.9, 0.2, 0.4]


def main() -> None:
    (HERE / "labels.csv").write_bytes(b"y\n1\n0\n1\n")
    (HERE / "excel_bom.csv").write_bytes("\ufeffp\r\n0.9\r\n0.2\r\n0.4\r\n".encode())
    (HERE / "excel_unicode.tsv").write_bytes("p\r\n0.9\r\n0.2\r\n0.4\r\n".encode("utf-16"))
    (HERE / "r_write_csv.csv").write_bytes(b'"","p"\n"1",0.9\n"2",NA\n"3",0.4\n')
    (HERE / "european.csv").write_bytes(b"p;y\n0,9;1\n0,2;0\n0,4;1\n")
    (HERE / "latin1.csv").write_bytes("probabilité\n0.9\n0.2\n0.4\n".encode("latin-1"))
    column = np.asarray(ARTICLE, dtype=np.float32).reshape(3, 1)
    np.save(HERE / "torch_sigmoid_n1.npy", column)
    np.save(HERE / "keras_predict_n1.npy", column)


if __name__ == "__main__":
    main()

"""The intent corpus: hand-written, legacy and composed labelled messages (see make_corpus.py)."""

"""Recall: runbooks and past sessions, by sentence-embedding similarity in FAISS."""

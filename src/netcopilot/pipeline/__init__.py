"""The data pipeline: how records get into the store and how features come out of it.

    file ─ read (JSONL / CSV) ─> validate against the declared schema (schema.py) ─┬─> store the good ones
                                                                                   └─> quarantine the bad ones
                                                                                       (file, line, field, why)
    stored records ─> feature sets (features.py, the one module training and serving both call)
                   ─> feature store (feature_store.py: cached in the `feature_cache` table per set and version)

Nothing is dropped silently: every record read is either stored or quarantined, and an ingest
reports both counts (`netcopilot ingest`, `netcopilot quarantine list`, `netcopilot features`).
"""

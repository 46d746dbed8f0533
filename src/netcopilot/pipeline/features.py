"""The features each model computes from its inputs, declared in one place that training and
serving both call, so no model sees one thing in training and another in service.

    set         version           input               features                     computed by
    question    encoder.version   a question's text   MiniLM vector, 384 float32   `question_vectors`
    command     1                 a command line      timing.Parsed parts          `command_features`
    connection  1                 connection records  the 41 NSL-KDD columns       `connection_features`

Who calls them: the intent model is trained on `question_vectors` of the phrasings
(training.train) and answers from `question_vectors` of the message (Assistant); the drift monitor
compares `question_vectors` of stored questions with those of the phrasings. The execution-time
model learns from `command_features` of recorded runs and predicts from `command_features` of the
new line. Threat scans score `connection_features` of conn.log or pcap records.

Only `question` is cached in the store (netcopilot.pipeline.feature_store): one vector costs
milliseconds of MiniLM. `command` costs about 15 µs per line (measured on 15,000 recorded commands),
less than reading a cached row back, and `connection`'s window features depend on the neighbouring
records, not on the record alone, so neither is cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from netcopilot.embeddings import Encoder


@dataclass(frozen=True)
class FeatureSet:
    name: str
    version: str
    cached: bool
    doc: str


def question_vectors(encoder: "Encoder", texts: Sequence[str]) -> np.ndarray:
    """L2-normalised MiniLM vectors (n, 384) of questions: what every intent member, the runbook
    search and the drift monitor see."""
    return encoder.encode(list(texts))


def command_features(text: str) -> list[list[Any]]:
    """A command line's pipelines of parsed simple commands (family, targets, schedule, budget,
    cap): `history.timing.parse`, which `DurationModel.fit` and `predict_one` both call."""
    from netcopilot.history.timing import parse

    return parse(text)


def connection_features(records: "pd.DataFrame") -> "pd.DataFrame":
    """Connection records -> the 41 NSL-KDD feature columns, one row per record."""
    from netcopilot.threats.features import to_kdd

    return to_kdd(records)


def feature_sets(encoder_version: str | None = None) -> list[FeatureSet]:
    """The declared feature sets (the question set's version is the encoder's when known)."""
    return [
        FeatureSet("question", encoder_version or "<encoder>", True, "MiniLM vector of a question's text"),
        FeatureSet("command", "1", False, "parsed pipelines of a command line (execution-time model)"),
        FeatureSet("connection", "1", False, "41 NSL-KDD columns of connection records (threat model)"),
    ]

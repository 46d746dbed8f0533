"""The spaCy pipeline: a tokenizer that keeps network entities whole, the rule-based entity
component, and (once trained) the `textcat` intent classifier.

spaCy is imported lazily and without torch: thinc imports torch when it can, which costs about
1.5 s and 180 MB at start-up, and no part of our pipeline uses it.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from netcopilot.nlu.entities import Entity, find_entities

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language
    from spacy.tokens import Doc

TOKENIZER = "netcopilot.tokenizer.v1"
ENTITY_COMPONENT = "netcopilot_entities"
BOW_ARCHITECTURE = "netcopilot.TextCatBOWNorm.v1"

# Tokens inside these entities get a placeholder norm, so the classifier learns "ping <ipv4>"
# rather than memorising addresses.
NORM_PLACEHOLDERS = {
    "IPV4": "<ip>", "IPV6": "<ip>", "CIDR": "<cidr>", "MAC": "<mac>", "URL": "<url>",
    "HOSTNAME": "<host>", "INTERFACE": "<iface>",
}  # fmt: skip


@contextmanager
def _without_torch() -> Iterator[None]:
    if "torch" in sys.modules:
        yield
        return
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` fail fast
    try:
        yield
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]


def import_spacy() -> Any:
    with _without_torch():
        import spacy  # noqa: F401
        from spacy.pipeline.textcat import Config  # noqa: F401 - forces thinc's backends now

        _register()
        return sys.modules["spacy"]


_REGISTERED = False


def _register() -> None:
    global _REGISTERED
    if _REGISTERED:
        return
    import spacy
    from spacy.language import Language
    from spacy.tokens import Doc, Span

    if not Span.has_extension("value"):
        Span.set_extension("value", default=None)

    class NetTokenizer:
        """spaCy's English tokenizer for ordinary text; entity spans become their own tokens."""

        def __init__(self, vocab: Any, base: Any):
            self.vocab = vocab
            self.base = base

        def __call__(self, text: str) -> "Doc":
            entities = find_entities(text)
            words: list[str] = []
            spaces: list[bool] = []
            norms: list[str | None] = []
            pos = 0
            for ent in entities:
                self._add_chunk(text[pos : ent.start], words, spaces, norms)
                if any(c.isspace() for c in ent.text):  # "5 times", "vlan 10"
                    self._add_chunk(ent.text, words, spaces, norms)
                else:
                    words.append(ent.text)
                    spaces.append(False)
                    norms.append(NORM_PLACEHOLDERS.get(ent.label))
                pos = ent.end
            self._add_chunk(text[pos:], words, spaces, norms)
            doc = Doc(self.vocab, words=words, spaces=spaces)
            for token, norm in zip(doc, norms):
                token.norm_ = norm or token.lower_
            doc.user_data["net_entities"] = entities
            return doc

        def _add_chunk(self, chunk: str, words: list, spaces: list, norms: list) -> None:
            """Tokenize `chunk` with spaCy's rules and append it; one leading space joins the
            previous token as its trailing whitespace."""
            if chunk[:1] == " " and words and not spaces[-1]:
                spaces[-1] = True
                chunk = chunk[1:]
            if not chunk:
                return
            for token in self.base(chunk):
                words.append(token.text)
                spaces.append(bool(token.whitespace_))
                norms.append(None)

        # The tokenizer has no state of its own to save: the base one is rebuilt from defaults.
        def to_disk(self, path: Path, **kwargs: Any) -> None:
            Path(path).mkdir(parents=True, exist_ok=True)

        def from_disk(self, path: Path, **kwargs: Any) -> "NetTokenizer":
            return self

        def to_bytes(self, **kwargs: Any) -> bytes:
            return b""

        def from_bytes(self, data: bytes, **kwargs: Any) -> "NetTokenizer":
            return self

    @spacy.registry.tokenizers(TOKENIZER)
    def create_tokenizer() -> Any:
        def make(nlp: Language) -> NetTokenizer:
            from spacy.util import registry

            base = registry.tokenizers.get("spacy.Tokenizer.v1")()(nlp)
            return NetTokenizer(nlp.vocab, base)

        return make

    @Language.component(ENTITY_COMPONENT)
    def entity_component(doc: Doc) -> Doc:
        entities: list[Entity] = doc.user_data.get("net_entities") or find_entities(doc.text)
        spans = []
        for ent in entities:
            span = doc.char_span(ent.start, ent.end, label=ent.label, alignment_mode="expand")
            if span is not None:
                span._.value = ent.value
                spans.append(span)
        doc.set_ents(_non_overlapping(spans))
        return doc

    @spacy.registry.architectures(BOW_ARCHITECTURE)
    def bow_over_norms(exclusive_classes: bool, ngram_size: int, length: int = 65536, nO: int | None = None) -> Any:
        """spaCy's TextCatBOW, reading NORM (lowercase, entity placeholders) instead of ORTH."""
        from spacy.attrs import NORM
        from spacy.ml.extract_ngrams import extract_ngrams
        from thinc.api import Logistic, SparseLinear_v2, chain, softmax_activation, with_cpu

        sparse = SparseLinear_v2(nO=nO, length=2 ** (length - 1).bit_length())
        model = with_cpu(chain(extract_ngrams(ngram_size, attr=NORM), sparse), sparse.ops)
        output = softmax_activation() if exclusive_classes else Logistic()
        model = chain(model, with_cpu(output, output.ops))
        if nO is not None:
            model.set_dim("nO", nO)
        model.set_ref("output_layer", sparse)
        model.attrs["multi_label"] = not exclusive_classes
        return model

    _REGISTERED = True


def _non_overlapping(spans: list) -> list:
    spans = sorted(spans, key=lambda s: s.start)
    kept = []
    for span in spans:
        if kept and span.start < kept[-1].end:
            continue
        kept.append(span)
    return kept


def blank_pipeline() -> "Language":
    """A blank English pipeline with our tokenizer and entity component (no classifier yet)."""
    spacy = import_spacy()
    nlp = spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    nlp.add_pipe(ENTITY_COMPONENT)
    return nlp


def load_pipeline(path: Path) -> "Language":
    spacy = import_spacy()
    with _without_torch():
        return spacy.load(path)

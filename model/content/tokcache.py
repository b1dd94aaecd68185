"""Let spaCy's tokenizer cache do its job on mail.

spaCy's tokenizer splits a text at whitespace and caches the tokens of each chunk ("matin,"
→ "matin" ","), so a chunk seen before costs a hash lookup instead of the prefix, suffix,
infix and ``token_match`` regular expressions. But it stops saving chunks for the rest of a
text as soon as one chunk of that text hit a special case (``has_special`` is one flag per
call, spaCy 3.8 ``Tokenizer._save_cached``); French mail meets one early ("M.", "Mme",
"aujourd'hui", a quote mark), so almost nothing is ever cached and every text pays the
regular expressions for every word: ~5 ms for 2 KB here, a fifth of the NER.

:class:`ChunkCache` fills the same cache the way spaCy would if the flag were per chunk:
each new chunk is tokenised once *on its own* (a chunk that needs a special case is, as
before, not cached). Results are unchanged (the cache holds what the regular expressions produce for that
chunk; ``tests/test_content_nerselect.py`` compares with a stock tokenizer). Only hashes of
chunks are kept here; spaCy's cache itself maps hashes to vocabulary entries, which the
tokenizer creates for every word anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import spacy

MAX_CHUNKS = 100_000  # spaCy's cache bound (default 10,000) raised; ~100 bytes per chunk in all


class ChunkCache:
    """Fills ``nlp.tokenizer``'s chunk cache with every chunk of the texts passed to
    :meth:`learn`, the first time it is seen. (Tokenising the 20,000 most frequent words of
    the vector table at load was tried: 1.2 s of start-up for a gain on the first few hundred
    mails only.)"""

    def __init__(self, nlp: spacy.Language, max_chunks: int = MAX_CHUNKS) -> None:
        self.tokenizer = nlp.tokenizer
        self.max_chunks = max_chunks
        if getattr(self.tokenizer, "max_cache_size", max_chunks) < max_chunks:
            self.tokenizer.max_cache_size = max_chunks
        self._seen: set[int] = set()

    def learn(self, text: str) -> None:
        """Cache the chunks of ``text`` not seen before (call after tokenising it)."""
        if len(self._seen) >= self.max_chunks:
            return
        self.learn_chunks(text.split())

    def learn_chunks(self, chunks: Iterable[str]) -> None:
        """Tokenise each chunk (a whitespace-free string) not seen before on its own."""
        seen = self._seen
        new = []
        for chunk in chunks:
            key = hash(chunk)
            if key not in seen:
                seen.add(key)
                new.append(chunk)
        tokenizer = self.tokenizer
        for chunk in new:  # alone: a special case elsewhere in the text no longer blocks it
            tokenizer(chunk)

    def __len__(self) -> int:
        return len(self._seen)


def chunk_cache(nlp: spacy.Language) -> ChunkCache:
    """The pipeline's chunk cache (one per pipeline: analyzers sharing it share the cache)."""
    cache = getattr(nlp, "_misdirect_chunk_cache", None)
    if cache is None:
        cache = ChunkCache(nlp)
        nlp._misdirect_chunk_cache = cache  # type: ignore[attr-defined]
    return cache

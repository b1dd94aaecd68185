"""The disk cache of huge compiled patterns gives patterns that match exactly like ``re``'s."""

from __future__ import annotations

import random
import re
from pathlib import Path

from service import regexcache


def _words(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    letters = "abcdeéèfghijklmnopqrstuvwxyz-'"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(2, 12))) for _ in range(n)]


def test_cached_pattern_matches_like_re(tmp_path: Path) -> None:
    words = _words(12_000, 0)
    pattern = "(?iu)" + "|".join(f"(?:{re.escape(w)}(?:-[a-z]+)?)" for w in words)
    assert len(pattern) >= regexcache.MIN_CHARS
    reference = re._compiler.compile(pattern, 0)  # type: ignore[attr-defined]  # no cache
    probes = words[:3000] + _words(3000, 1) + [w.upper() + "-bis" for w in words[:500]]
    regexcache.install(tmp_path)
    try:
        for attempt in ("miss", "hit"):
            re.purge()
            compiled = re.compile(pattern)
            assert list(tmp_path.glob("*.pickle")), attempt
            assert (compiled.pattern, compiled.flags, compiled.groups) == (
                reference.pattern, reference.flags, reference.groups)
            for probe in probes:
                a, b = compiled.match(probe), reference.match(probe)
                assert (a and a.span()) == (b and b.span()), (attempt, probe)
        # Small patterns never touch the cache; a corrupt file falls back to compiling.
        for f in tmp_path.glob("*.pickle"):
            f.write_bytes(b"not a pickle")
        re.purge()
        assert re.compile(pattern).match(words[7])
        assert re.compile("abc").match("abc")
    finally:
        regexcache.uninstall()
        re.purge()

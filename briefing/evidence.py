"""What a story's checks need from its sources alone, found before the answer comes.

Checking the story the model wrote (:func:`briefing.drafts.complete`, the
:class:`briefing.grounding.Checker`, :func:`briefing.drafts.settle`) is mostly reading
the story's sources: who they show speaking or acting (:func:`briefing.speakers.find`),
each outlet's own phrases (:mod:`briefing.wording`), the normalised texts and the
content words of every sentence (:class:`briefing.grounding.SourceText`), the words and
scripts the sources use. On bench/bench_pipeline.py's folder that was 16 of the 22 ms a
story's check took. None of it depends on the answer, so a run finds it before the
answer comes, and the check that follows only compares the answer with it:

* the parts that take time but little memory (:meth:`Evidence.find_small`) are found
  for the stories ahead, by a :class:`Reader` on a thread of its own;
* those that hold a copy of the texts (:meth:`Evidence.find_large`) once the story's
  call is out, so that memory follows the calls in flight, not the folder's size.

Each part is found once, by whichever thread asks for it first; the others wait for it.
"""

from __future__ import annotations

import functools
import threading
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from briefing import speakers, wording
from briefing.salience import Ranking
from briefing.sourcetext import SourceText

_T = TypeVar("_T")


@functools.lru_cache(maxsize=4096)
def script(char: str) -> str:
    """The script of a letter as Unicode names it ("LATIN", "CYRILLIC", "CJK"), or ""."""
    return unicodedata.name(char, "").split(" ")[0] if char.isalpha() else ""


class Evidence:
    """The sources of one story, and what the checks find in them.

    ``sentences`` maps a source number to its numbered sentences, ``texts`` to its
    article text and ``published`` to its date; a source needs ``texts`` to be
    grounded against (:meth:`sources`) and for its own phrases."""

    def __init__(
        self,
        sentences: Mapping[int, Mapping[int, str]] | None = None,
        texts: Mapping[int, str] | None = None,
        published: Mapping[int, str | None] | None = None,
    ) -> None:
        self.sentences: Mapping[int, Mapping[int, str]] = sentences or {}
        self.texts: Mapping[int, str] = texts or {}
        self.published: Mapping[int, str | None] = published or {}
        self._found: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def numbers(self) -> set[int]:
        """The story's source numbers."""
        return set(self.sentences) | set(self.texts)

    def sources(self) -> list[SourceText]:
        """Each source with a text, ready to ground against, content words found."""

        def make() -> list[SourceText]:
            return [
                SourceText(n, text, dict(self.sentences.get(n, {})), self.published.get(n)).read()
                for n, text in self.texts.items()
            ]

        return self._once("sources", make)

    def mentions(self) -> list[speakers.Mention]:
        """Who the sources show speaking or acting (:func:`briefing.speakers.find`)."""
        return self._once("mentions", lambda: speakers.find(self.sentences))

    def ranking(self) -> Ranking:
        """The sources' sentences ranked by what most outlets say (:mod:`briefing.salience`)."""
        return self._once("ranking", lambda: Ranking(self.sentences))

    def vocabulary(self) -> frozenset[str]:
        """Every word of the sources' sentences, in lower case."""
        return self._once(
            "vocabulary",
            lambda: frozenset(
                w.lower()
                for numbered in self.sentences.values()
                for text in numbered.values()
                for w in speakers.WORD.findall(text)
            ),
        )

    def scripts(self) -> frozenset[str]:
        """The scripts the sources' sentences are written in, with "" and "LATIN"."""

        def make() -> frozenset[str]:
            # Each distinct character once: ~10^5 characters a story, ~10^2 distinct.
            letters = set().union(*(set(t) for n in self.sentences.values() for t in n.values()))
            return frozenset({"", "LATIN"} | {script(c) for c in letters})

        return self._once("scripts", make)

    def own_phrases(self, count: int) -> dict[int, list[str]]:
        """Up to ``count`` phrases of each source that no other source of the story
        uses (:func:`briefing.wording.own_phrase_lists`)."""
        return self._once(f"own {count}", lambda: wording.own_phrase_lists(self.texts, count=count))

    def find_small(self, own_phrases: int) -> None:
        """Find the parts that take time but little memory (speakers, own phrases,
        scripts: ~10 of a check's 16 ms, a few KB); ``own_phrases``: how many of those."""
        self.mentions()
        self.scripts()
        self.own_phrases(own_phrases)

    def find_large(self) -> None:
        """Find the parts that hold a copy of the texts and their words (~0.6 MB a
        story on the bench folder): best found once the story's call is out."""
        self.sources()
        self.vocabulary()

    def _once(self, part: str, make: Callable[[], _T]) -> _T:
        with self._lock:
            if part not in self._found:
                self._found[part] = make()
            return cast(_T, self._found[part])


class Reader:
    """Finds the small parts of a run's stories' evidence (:meth:`Evidence.find_small`)
    in story order, on a thread of its own, at most ``ahead`` stories past the last
    story taken for its call. The small parts of a story taken before the reader got
    to it are found by its check. Use it as a context manager: leaving stops the
    thread."""

    def __init__(self, own_phrases: int, ahead: int) -> None:
        self.own_phrases, self.ahead = own_phrases, ahead
        self._stories: list[Evidence | None] = []
        self._taken = 0  # stories before this one are taken
        self._stopped = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, name="brief-evidence", daemon=True)

    def add(self, found: Evidence) -> None:
        """The next story's evidence (before :meth:`start`)."""
        self._stories.append(found)

    def start(self) -> None:
        """Read on from the first story, once every story is added."""
        self._thread.start()

    def take(self, story: int) -> Evidence:
        """Story ``story``'s evidence, for its check; the reader lets go of it."""
        with self._changed:
            found, self._stories[story] = self._stories[story], None
            self._taken = max(self._taken, story + 1)
            self._changed.notify_all()
        if found is None:
            raise ValueError(f"story {story} was taken before")
        return found

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join()

    def _read(self) -> None:
        for i in range(len(self._stories)):
            with self._changed:
                self._changed.wait_for(functools.partial(self._may_read, i))
                if self._stopped:
                    return
                found = self._stories[i]
            if found is not None:
                found.find_small(self.own_phrases)

    def _may_read(self, story: int) -> bool:
        return self._stopped or story < self._taken + self.ahead

"""A ceiling on the tokens one run may spend (``--max-tokens``).

Before each request, :class:`Budget` reserves what the request may cost at most:
its prompt tokens (counted with tiktoken, as the pipeline counts) plus the answer
limit (``max_output_tokens``). A request whose reservation would take the run past
the ceiling is not sent: :meth:`Budget.reserve` raises :class:`BudgetError`, a
:class:`CallError`, so the pipeline leaves that article or story out, names it as a
problem and goes on; the run ends partial (exit 3). When the answer arrives, the
reservation is replaced by the tokens the server reports. Reserving the worst case
means the ceiling is not passed, even with calls in flight, as long as the server's
tokenizer counts the prompt within :data:`PROMPT_MARGIN` of cl100k_base.

Answers taken from the cache cost nothing, so a second run with the same ceiling
gets further: it pays only for the calls the first one could not make.
"""

from __future__ import annotations

import math
import threading

import tiktoken

from briefing import chunking
from briefing.errors import BudgetError

# Chat framing per message, as the pipeline counts it (pipeline.count_messages).
_PER_MESSAGE = 4
# The server counts with its own tokenizer: the same prompt may be a few percent
# more tokens there than in cl100k_base, so prompts are held at 10 % more.
PROMPT_MARGIN = 1.10


class Budget:
    """Tokens a run may still spend; shared by all its calls (thread-safe)."""

    def __init__(self, limit: int, encoding: tiktoken.Encoding) -> None:
        self.limit = limit
        self.encoding = encoding
        self.spent = 0  # tokens the server reported for finished requests
        self.held = 0  # reservations of requests in flight
        self.refused = 0  # requests not sent
        self._lock = threading.Lock()

    def reserve(self, messages: list[dict[str, str]], max_answer: int, *, subject: str) -> int:
        """Hold the most ``messages`` can cost; returns the amount held."""
        prompt = sum(
            chunking.count_tokens(m["content"], self.encoding) + _PER_MESSAGE for m in messages
        )
        need = max_answer + math.ceil(prompt * PROMPT_MARGIN)
        with self._lock:
            if self.spent + self.held + need > self.limit:
                self.refused += 1
                raise BudgetError(
                    f"{subject}: not sent: it may need {need} tokens and the run has "
                    f"{max(0, self.limit - self.spent - self.held)} left of --max-tokens "
                    f"{self.limit}. Raise --max-tokens and run again (answers already "
                    "received are cached and cost nothing)."
                )
            self.held += need
        return need

    def settle(self, held: int, used: int | None) -> None:
        """Replace a reservation by what the request used (None: not known, keep it)."""
        with self._lock:
            self.held -= held
            self.spent += held if used is None else used

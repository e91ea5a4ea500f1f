"""cmperf: first-principles performance model of LLM serving on scale-up supernodes."""

from __future__ import annotations

__version__ = "0.1.0"

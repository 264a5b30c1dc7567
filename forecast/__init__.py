"""forecast: when will training runs of large language models use up the stock of public human text?

Data flow (one way): data -> model -> draws -> scenarios -> report. See ARCHITECTURE.md.
"""

from __future__ import annotations

__version__ = "0.1.0"

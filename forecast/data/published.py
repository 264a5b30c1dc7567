"""Published headline figures of Villalobos et al. 2024, to set beside this forecast in the report.

Source keys refer to `METHOD_NOTES.md` in the shared reference folder (Part B):

- [P2] Villalobos et al. 2024, "Will we run out of data? Limits of LLM scaling based on human-generated data",
  arXiv 2211.04325v2, ICML 2024 (https://arxiv.org/abs/2211.04325v2).
- [B2] The Epoch AI blog post of June 2024 announcing [P2] (wording known via verbatim reposts; reliability S).
- [R] A reproduction run of the authors' own code ([C2], epoch-research/data-stock commit 83da8ed), historical
  projection arm only because the paper's compute sample paths are not published (METHOD_NOTES B.1).

Years are calendar years as the sources state them (the paper rounds to whole years); `None` means the source
gives no number.
"""

from __future__ import annotations

from dataclasses import dataclass

PAPER = "Villalobos et al. 2024"
PAPER_URL = "https://arxiv.org/abs/2211.04325v2"
BLOG_URL = "https://epochai.org/blog/will-we-run-out-of-data-limits-of-llm-scaling-based-on-human-generated-data"


@dataclass(frozen=True)
class PublishedExhaustion:
    """One published exhaustion scenario: median year, 80% interval and scale at the crossing."""

    key: str
    label: str
    median: float | None
    interval_80: tuple[float, float] | None
    tokens: float | None
    compute_flop: float | None
    source: str
    approximate: bool = False


@dataclass(frozen=True)
class ReproducedExhaustion:
    """The paper's own code re-run ([R]): median and 80% interval, historical projection arm only."""

    key: str
    median: float
    #: Lower end of the 80% interval; the reproduction's lower end varies between Monte Carlo runs, so it is a
    #: range (low, high) of the values seen.
    interval_80_low: tuple[float, float]
    interval_80_high: float
    source: str = "METHOD_NOTES B.1 [R] (authors' code [C2], historical arm only)"


#: [P2] main result: compute-optimal, equal-weight mixture of the historical and compute-based projections.
#: "Our 80% confidence interval is that the data stock will be fully utilized at some point between 2026 and 2032"
#: ([B2]); median 2028, about 4e14 tokens and 5e28 FLOP at the crossing ([P2] §2.5, Fig. 1).
COMPUTE_OPTIMAL = PublishedExhaustion(
    key="compute-optimal",
    label="Compute-optimal mixture (main result)",
    median=2028.0,
    interval_80=(2026.0, 2032.0),
    tokens=4e14,
    compute_flop=5e28,
    source="[P2] §2.5, Fig. 1; [B2]",
)

#: [P2] App. F profit model with r = 7, h = 2 ("about 5x overtraining"): "one year earlier", ~2027; the 80% band is
#: drawn in Fig. 1 but not stated in the text ([P2] §2.5; [B2]).
OVERTRAINED_5X = PublishedExhaustion(
    key="5x",
    label="5x overtraining (r = 7, h = 2)",
    median=2027.0,
    interval_80=None,
    tokens=None,
    compute_flop=6e27,
    source="[P2] §2.5, Fig. 1; [B2]",
    approximate=True,
)

#: [P2] App. F profit model with r = 10, h = 2.4 ("around 100x at 5e25 FLOP"): exhaustion ~2025 ([B2]; [P2] App. F,
#: Fig. 10); no interval in the text.
OVERTRAINED_100X = PublishedExhaustion(
    key="100x",
    label="~100x overtraining (r = 10, h = 2.4)",
    median=2025.0,
    interval_80=None,
    tokens=None,
    compute_flop=None,
    source="[B2]; [P2] App. F",
    approximate=True,
)

PUBLISHED_EXHAUSTION: dict[str, PublishedExhaustion] = {
    row.key: row for row in (COMPUTE_OPTIMAL, OVERTRAINED_5X, OVERTRAINED_100X)
}

#: The paper's code re-run (METHOD_NOTES B.1 [R]); Monte Carlo noise about ±2% on quantiles.
REPRODUCED_EXHAUSTION: dict[str, ReproducedExhaustion] = {
    "compute-optimal": ReproducedExhaustion("compute-optimal", 2028.8, (2027.1, 2027.4), 2031.2),
    "5x": ReproducedExhaustion("5x", 2028.1, (2026.4, 2026.4), 2030.0),
    "100x": ReproducedExhaustion("100x", 2025.7, (2024.5, 2024.5), 2027.4),
}


@dataclass(frozen=True)
class PublishedStock:
    """A published stock estimate (tokens) with its interval."""

    label: str
    median: float
    low: float
    high: float
    interval: str
    source: str


#: Effective stock of public human text in 2024 (quality-filtered, multi-epoch adjusted): ~300T tokens,
#: 90% CI 100T-1000T ([B2]; [P2] Fig. 3).
EFFECTIVE_STOCK_2024 = PublishedStock(
    label="Effective stock, 2024",
    median=3e14,
    low=1e14,
    high=1e15,
    interval="90%",
    source="[B2]; [P2] Fig. 3",
)

#: Raw indexed web in 2024: 510T tokens, 95% CI [130T, 2100T] ([P2] Table 1, §2.2.1).
INDEXED_WEB_2024 = PublishedStock(
    label="Indexed web (raw), 2024",
    median=5.1e14,
    low=1.3e14,
    high=2.1e15,
    interval="95%",
    source="[P2] Table 1, §2.2.1",
)

#: Scenario names of this package's presets that correspond to a published row. A scenario matches only when it
#: is also a mixture of both demand arms, as the paper's scenarios are: the default preset's `compute-optimal` is
#: the compute arm alone and has no published counterpart.
SCENARIO_COUNTERPARTS: dict[str, str] = {
    # presets/villalobos2024.yml
    "compute-optimal": "compute-optimal",
    "overtrained-5x": "5x",
    "overtrained-100x": "100x",
    # presets/default.yml
    "mixture-optimal": "compute-optimal",
    "mixture-5x": "5x",
    "mixture-100x": "100x",
}


def counterpart(scenario: str, scaling: str | None = "mixture") -> str | None:
    """Key of the published row matching `scenario` (a mixture scenario of that name), else None."""
    if scaling is not None and scaling != "mixture":
        return None
    return SCENARIO_COUNTERPARTS.get(scenario)


@dataclass(frozen=True)
class PublishedVintage:
    """A published exhaustion date at the date it was published, for the vintage chart."""

    published: str  # ISO date the estimate was published
    label: str
    median: float
    interval: tuple[float, float]
    level: str  # what the interval is ("80%", "90%")
    source: str


#: [P1] the 2022 version (arXiv 2211.04325v1, "the October 2022 version"): low-quality language stock,
#: historical projection, median 2032.4, 90% CI 2028.4–2039.2 ([B1] Table 1; METHOD_NOTES B.3). It counts words
#: and a different stock, so it is shown as published, not as a like-for-like point.
#: [P2] the 2024 version (arXiv 2211.04325v2, 2024-06-05): median 2028, 80% CI 2026–2032 ([B2]; METHOD_NOTES B.1).
PUBLISHED_VINTAGES = (
    PublishedVintage(
        "2022-10",
        "Villalobos et al. 2022 (v1), low-quality language, historical projection",
        2032.4,
        (2028.4, 2039.2),
        "90%",
        "[B1] Table 1; METHOD_NOTES B.3",
    ),
    PublishedVintage(
        "2024-06-05",
        "Villalobos et al. 2024 (v2), compute-optimal mixture",
        2028.0,
        (2026.0, 2032.0),
        "80%",
        "[B2]; [P2] §2.5; METHOD_NOTES B.1",
    ),
)

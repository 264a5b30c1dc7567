"""The limits that bend the compute arm: spending, power and chips (scenario key `compute_limits`).

Compute follows its trend (fitted to recorded runs, or given) until the binding limit bends it
(`forecast.projection.demand.ComputeCaps`): the slowdown then comes from what compute costs, not from a hand-set
year (`compute_slowdown`, which this replaces). Each limit is stated in the terms analysts argue in — a share of
gross world product or a dollar cap, gigawatts for one run, H100-equivalent chips — and turned into FLOP with the
fitted trends of `forecast.model.supply` (FLOP per dollar, FLOP per joule, world product) and the shared run
settings below. Every default is a cited prior (`forecast.priors.Prior`); a null limit is switched off.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator

from forecast.priors import Number, Prior


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: Villalobos et al. 2024 fn. 20 ([P2], METHOD_NOTES A.8; compute_supply.csv, limit, spending_share_gwp): scenarios
#: where compute spending grows "up to 1% of GWP". The lower end, a tenth of that, is a judgement [U].
SPENDING_SHARE_OF_GWP = Prior(
    distribution="loguniform",
    low=0.001,
    high=0.01,
    source="[P2] fn. 20: spending up to 1% of GWP (METHOD_NOTES A.8); lower end 0.1% a judgement [U]",
)

#: Sevilla et al. 2024, "Can AI scaling continue through 2030?" (Epoch AI, 20 Aug 2024): a run on one campus
#: "could likely involve 1 to 5 GW" by 2030; one spread across sites "could amass a supply of 2 to 45 GW"
#: (data/compute_supply.csv, series `limit`, subject power_available_gw). The 90% interval spans both.
POWER_GW_AT_2030 = Prior(
    distribution="lognormal",
    low=1.0,
    high=45.0,
    mass=0.9,
    source="Sevilla et al. 2024: 1-5 GW one campus, 2-45 GW distributed, by 2030 (compute_supply.csv, limit)",
)

#: Growth of that power, before and after 2030: a judgement [U] between flat and a third of the 2.1x/yr
#: (0.32 OOM/yr) at which the power drawn by frontier runs has grown (Epoch AI 2024, compute_supply.csv
#: growth_rate): supply grows slower than the demand of the last decade.
POWER_GROWTH_OOM_PER_YEAR = Prior(
    distribution="uniform",
    low=0.0,
    high=0.1,
    source="judgement [U]: flat to a third of the 2.1x/yr growth of frontier-run power (Epoch AI 2024)",
)

#: Sevilla et al. 2024 (secondary summary): "around 100 million H100-equivalent GPUs producible for AI by
#: 2030, with a wide range" (compute_supply.csv, limit, chip_production_h100e). All of them in one run is the
#: upper end; a tenth (one developer's share) the lower end, a judgement [U].
CHIPS_H100E_AT_2030 = Prior(
    distribution="lognormal",
    low=1e7,
    high=1e8,
    mass=0.9,
    source="Sevilla et al. 2024: ~1e8 H100e producible by 2030 (compute_supply.csv, limit); a tenth of it [U]",
)

#: Chip output for one run after 2030: a judgement [U] between flat and ~0.2 OOM/yr, above the ~0.14 OOM/yr
#: of ML-GPU price-performance (Hobbhahn & Besiroglu 2022, compute_supply.csv growth_rate), counted in
#: H100-equivalents.
CHIPS_GROWTH_OOM_PER_YEAR = Prior(
    distribution="uniform",
    low=0.0,
    high=0.2,
    source="judgement [U]: flat to ~0.2 OOM/yr of H100-equivalent output for one run",
)

#: How long one frontier run trains: Llama 3.1 405B ~54 days on 16,384 H100s (distributed-training-book case
#: study, https://ttsugriy.github.io/distributed-training-book/synthesis/34-case-study-llama3); longer runs buy
#: compute with time, up to ~8 months, a judgement [U].
TRAINING_DAYS = Prior(
    distribution="lognormal",
    low=50.0,
    high=250.0,
    mass=0.9,
    source="Llama 3.1 405B ~54 days (ttsugriy distributed-training-book, S); up to ~8 months [U]",
)

#: Model FLOP utilisation: Llama 3.1 405B trained at 38-43% MFU (Dubey et al. 2024, quoted in Epoch AI's
#: database notes, https://aiportalx.com/meta-ai/llama-3.1-8b); widened to [0.3, 0.5].
UTILISATION = Prior(
    distribution="uniform",
    low=0.3,
    high=0.5,
    source="Dubey et al. 2024: 38-43% MFU for Llama 3.1 405B (via Epoch AI notes, S); widened [U]",
)

#: Facility power per watt of accelerator TDP: Epoch AI's estimates of the power drawn by training clusters
#: give 1.96 for Grok 3 (109.9 MW / 80,000 H100 at 700 W), 1.97 for Llama 3.1 405B (22.6 MW / 16,384 H100) and
#: 2.0 for GPT-4 (19.9 MW / 25,000 A100 at 400 W) (compute_supply.csv, limit, largest_run_power_mw); widened.
POWER_OVERHEAD = Prior(
    distribution="uniform",
    low=1.6,
    high=2.4,
    source="Epoch AI cluster power over chip TDP: 1.96-2.0 (Grok 3, Llama 3.1 405B, GPT-4; compute_supply.csv)",
)

#: Peak dense BF16 FLOP/s of one H100-equivalent: NVIDIA H100 SXM5 9.894e14 (Epoch AI ML hardware database,
#: compute_supply.csv, hardware_flop_per_joule notes).
H100_FLOP_PER_SECOND = 9.894e14

#: Width of the bend where compute meets a limit, in OOM (`ComputeCaps`): a judgement that the approach to a
#: limit takes about a year at today's ~0.6 OOM/yr growth rather than arriving at a kink.
BEND_WIDTH_OOM = 0.3


class ComputeLimits(_Settings):
    """What bounds the largest run's compute; each limit a cited prior, null to switch it off."""

    spending_share_of_gwp: Prior | None = Field(
        SPENDING_SHARE_OF_GWP,
        description=(
            "Largest share of gross world product one training run can cost (GWP fitted to "
            "compute_supply.csv; FLOP per dollar fitted to recorded runs). [P2] fn. 20: up to 1%."
        ),
    )
    spending_cap_usd: Prior | None = Field(
        None,
        description=(
            "An absolute cap on the cost of one run, constant dollars (e.g. a plateau at $10B); null: none. "
            "With a share limit too, the lower of the two binds."
        ),
    )
    power_gw: Prior | None = Field(
        POWER_GW_AT_2030,
        description="Power one run can draw at `power_year`, GW (Sevilla et al. 2024: 1-5 GW campus, 2-45 GW spread).",
    )
    power_year: date = Field(date(2030, 12, 31), description="Date `power_gw` refers to.")
    power_growth_oom_per_year: Prior = Field(
        POWER_GROWTH_OOM_PER_YEAR, description="Growth of that power before and after `power_year`, OOM/yr."
    )
    chips_h100e: Prior | None = Field(
        CHIPS_H100E_AT_2030,
        description="H100-equivalent accelerators one run can use at `chips_year` (Sevilla et al. 2024).",
    )
    chips_year: date = Field(date(2030, 12, 31), description="Date `chips_h100e` refers to.")
    chips_growth_oom_per_year: Prior = Field(
        CHIPS_GROWTH_OOM_PER_YEAR, description="Growth of those chips before and after `chips_year`, OOM/yr."
    )
    training_days: Prior = Field(TRAINING_DAYS, description="Length of one frontier run, days (power and chips).")
    utilisation: Prior = Field(UTILISATION, description="Model FLOP utilisation: achieved over peak FLOP/s.")
    power_overhead: Prior = Field(
        POWER_OVERHEAD, description="Facility watts per accelerator watt (servers, networking, cooling), >= 1."
    )
    bend_width_oom: Number = Field(
        BEND_WIDTH_OOM, gt=0, le=2, description="Width of the smooth bend where compute meets a limit, OOM."
    )

    @model_validator(mode="after")
    def _physical(self) -> ComputeLimits:
        """Shares, counts and durations are positive; utilisation is a fraction; overhead adds power."""
        for name in ("spending_share_of_gwp", "spending_cap_usd", "power_gw", "chips_h100e", "training_days"):
            prior = getattr(self, name)
            if prior is not None and prior.low <= 0:
                raise ValueError(f"{name}: this quantity is positive, so low must be > 0 (got low={prior.low:g})")
        if self.spending_share_of_gwp is not None and self.spending_share_of_gwp.high > 1:
            raise ValueError(
                f"spending_share_of_gwp is a share: high must be <= 1 (got {self.spending_share_of_gwp.high:g})"
            )
        if not (self.utilisation.low > 0 and self.utilisation.high <= 1):
            raise ValueError("utilisation is a fraction of peak: it must lie in (0, 1]")
        if self.power_overhead.low < 1:
            raise ValueError(f"power_overhead is at least 1 (got low={self.power_overhead.low:g})")
        return self

    def limits(self) -> tuple[str, ...]:
        """The limits switched on, in a fixed order (the report's names)."""
        on = {
            "spending": self.spending_share_of_gwp is not None or self.spending_cap_usd is not None,
            "power": self.power_gw is not None,
            "chips": self.chips_h100e is not None,
        }
        return tuple(name for name, enabled in on.items() if enabled)

# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Scenario playground
#
# **What this notebook answers:** how much does the exhaustion date move when you change an assumption, which
# inputs does it actually depend on, and what do the extensions (AI-written text, synthetic data, non-public
# stocks) do to it?
#
# The posterior is fitted **once** (or reused from the cache a `forecast run` with the same settings left
# behind); every scenario below reuses it, because scenario settings never change the fit. Change the cells
# in section 3 and re-run from there: each re-projection takes a second or two.

# %%
import os
import time

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from IPython.display import display
from plotly.subplots import make_subplots

from forecast.config import (
    Overtraining,
    Prior,
    ResolvedScenario,
    list_presets,
    load_config,
    parse_config,
    resolve,
)
from forecast.data import find_data_dir, load_bundle
from forecast.errors import ConfigError
from forecast.hashing import package_versions
from forecast.model.ai_share import ai_share, ai_share_data_from_frame
from forecast.model.fit import fit_posterior
from forecast.model.sample import diagnose, posterior_arrays
from forecast.projection.crossing import probability_by_year
from forecast.projection.effects import extension_effects
from forecast.projection.inputs import flatten
from forecast.projection.project import project_scenario
from forecast.projection.sensitivity import first_order_indices, what_you_would_have_to_believe
from forecast.projection.switches.extra_stocks import ExtraStocksSettings
from forecast.projection.switches.human_share import HumanShareSettings
from forecast.projection.switches.synthetic import SyntheticSettings
from forecast.projection.tables import exhaustion_dataset, probability_table, summary_table
from forecast.run.pipeline import known_at_cutoff

NOTEBOOK_STARTED = time.perf_counter()
SMOKE = os.environ.get("FORECAST_SMOKE_TEST") == "1"


DATA_DIR = find_data_dir()
# A preset name ("default", "villalobos2024") or the path of your own YAML file.
CONFIG = os.environ.get("FORECAST_NOTEBOOK_CONFIG", "default")
BASE_SCENARIO = "mixture-optimal"  # the scenario the what-ifs start from (first scenario if absent)
# Smoke mode: small, unconverged samples that exercise every cell quickly; otherwise the config's sampler.
SMOKE_SAMPLER = {"draws": 100, "tune": 200, "chains": 2}
TARGET_YEARS = (2035.0, 2031.0)  # for "what would you have to believe": a far and a near target

pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 80)
print(f"data: {DATA_DIR}   config: {CONFIG}   smoke mode: {SMOKE}")
display(pd.Series(package_versions(), name="version").to_frame())

# %% [markdown]
# ## 1. Load a configuration
#
# A configuration is a preset shipped with the package or a YAML file of your own (`forecast schema` prints
# every key with its meaning). Scenarios state only what differs from `defaults`; `resolve` fills in the rest.

# %%
display(pd.Series(list_presets(), name="description").to_frame())
config = load_config(CONFIG)
SEED = config.seed
resolved = resolve(config)
display(
    pd.DataFrame(
        [
            {
                "scenario": s.name,
                "scaling": s.scaling,
                "overtraining": s.overtraining.profit_model or f"{s.overtraining.factor:g}x",
                "stock growth": s.stock_growth,
                "horizon": s.horizon,
                "description": s.description,
            }
            for s in resolved
        ]
    )
)

# %% [markdown]
# A YAML file is validated the same way; a mistake becomes one line naming the key and what was expected:

# %%
try:
    parse_config("schema_version: 1\nscenarios:\n  - name: mine\n    scalling: compute\n", "my_scenarios.yml")
except ConfigError as error:
    print(f"ConfigError: {error}")

# %% [markdown]
# ## 2. Fit once
#
# `forecast.run.pipeline.fit_posterior` samples the posterior, or loads it from the cache when a previous run used
# the same data, fit settings, seed and sampler (never in smoke mode).

# %%
bundle = load_bundle(DATA_DIR, cutoff=config.data.cutoff)
fit_config = config
if SMOKE:
    fit_config = config.model_copy(update={"sampler": config.sampler.model_copy(update=SMOKE_SAMPLER)})
started = time.perf_counter()
idata, reused = fit_posterior(fit_config, bundle, use_cache=not SMOKE)
diagnostics = diagnose(idata)
posterior = flatten(posterior_arrays(idata))
CHAINS, DRAWS = idata.posterior.sizes["chain"], idata.posterior.sizes["draw"]
print(
    f"posterior {'reused from the cache' if reused else 'sampled'} in {time.perf_counter() - started:.1f} s: "
    f"{CHAINS} chains × {DRAWS} draws; "
    + ("converged" if diagnostics.converged else "NOT converged: " + "; ".join(diagnostics.problems()))
)

# %% [markdown]
# ## 3. Change a few assumptions and compare
#
# Each what-if is a copy of the base scenario with some settings replaced. `model_copy(update=...)` does not
# validate, so `variant` validates the result again (a bad value fails here, not deep inside a projection).
# Prior overrides take a `forecast.config.Prior`: a distribution with its central interval and a source.

# %%
base = {s.name: s for s in resolved}.get(BASE_SCENARIO, resolved[0])


def variant(scenario: ResolvedScenario, **changes: object) -> ResolvedScenario:
    """A validated copy of `scenario` with `changes` applied."""
    return ResolvedScenario.model_validate(scenario.model_copy(update=changes).model_dump())


stricter_quality = Prior(
    distribution="lognormal",
    low=0.05,
    high=0.15,
    mass=0.95,
    source="notebook what-if: stricter quality filtering than the 10-40% of [P2] §2.3.1",
)
what_ifs = [
    base,
    variant(base, name="overtrained-10x", overtraining=Overtraining(factor=10)),
    variant(
        base,
        name="stricter-quality",
        priors=base.priors.model_copy(update={"quality_fraction": stricter_quality}),
    ),
    variant(base, name="historical-trend-only", scaling="historical"),
    variant(base, name="no-compute-slowdown", compute_slowdown=None),
]
started = time.perf_counter()
known = known_at_cutoff(config, bundle)  # the record at the cut-off, which the preset's scenarios are tied to
results = [project_scenario(s, posterior, bundle.stock_priors, SEED, known=known) for s in what_ifs]
exhaustion = exhaustion_dataset(results, CHAINS, DRAWS)
print(f"{len(results)} scenarios projected in {time.perf_counter() - started:.1f} s")
summary = summary_table(exhaustion)
display(summary.round(1))
display(probability_table(exhaustion, np.array([2028, 2030, 2035, 2040, 2050])).round(2))

# %% [markdown]
# The same draws as distributions. Left: histograms of the exhaustion year (draws that do not cross before the
# horizon are censored and not shown). Right: the probability of exhaustion by each year; a curve that ends
# below 1 at the horizon has that much censored mass.

# %%
fig = make_subplots(
    rows=1,
    cols=2,
    subplot_titles=["exhaustion year (draws)", "P(exhausted by year)"],
    horizontal_spacing=0.08,
)
colors = ["#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692"]
years = np.linspace(2024, max(r.horizon for r in results), 400)
for k, result in enumerate(results):
    color = colors[k % len(colors)]
    fig.add_trace(
        go.Histogram(
            x=result.crossing_year[~result.censored],
            xbins={"start": 2024, "size": 0.5},
            name=result.name,
            legendgroup=result.name,
            marker_color=color,
            opacity=0.5,
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=years,
            y=probability_by_year(result.crossing_year, years),
            mode="lines",
            name=result.name,
            legendgroup=result.name,
            showlegend=False,
            line={"color": color},
            hovertemplate="by %{x:.1f}: %{y:.0%}<extra>" + result.name + "</extra>",
        ),
        row=1,
        col=2,
    )
fig.update_layout(barmode="overlay", title=f"What-ifs starting from {base.name}", height=500)
fig.update_xaxes(title_text="year", range=[2024, 2050])
fig.update_yaxes(title_text="draws", row=1, col=1)
fig.update_yaxes(title_text="probability", range=[0, 1], row=1, col=2)
fig.show()

# %% [markdown]
# ## 4. What moves the date? Sensitivity
#
# First-order (Sobol) indices from the draws already made: the share of the variance of the exhaustion year
# that each input explains on its own (`forecast.projection.sensitivity.first_order_indices`). **Censored draws are
# replaced by the horizon**, so the indices describe the date truncated at the horizon (inputs that push dates
# past it are understated). In a mixture the arm a draw follows (historical trend or compute) is an input too.

# %%
base_result = results[0]
exhaustion_or_horizon = np.where(base_result.censored, base_result.horizon, base_result.crossing_year)
inputs = dict(base_result.inputs)
if base.scaling == "mixture":
    inputs["historical_arm"] = base_result.historical_arm.astype(float)
indices = first_order_indices(inputs, exhaustion_or_horizon)
fig = go.Figure(
    go.Bar(
        x=indices["index"],
        y=indices["input"],
        orientation="h",
        hovertemplate="%{y}: %{x:.2f} of the variance<extra></extra>",
    )
)
fig.update_layout(
    title=f"First-order sensitivity of the exhaustion year, {base.name} "
    f"({exhaustion_or_horizon.size} draws; censored = horizon)",
    xaxis_title="first-order index (share of variance explained alone)",
    yaxis={"autorange": "reversed"},
    height=150 + 28 * len(indices),
)
fig.show()
print(f"sum of first-order indices: {indices['index'].sum():.2f} (the rest is interactions and noise)")

# %% [markdown]
# **What would you have to believe** for the median exhaustion date to be 2035? For each input alone: the
# value at which the conditional median of the date reaches the target, and where that value sits in the
# input's own distribution (`prior_percentile`, `direction` relative to its median draw). `reachable` is False
# when no value within the range of the input's draws gets there on its own, or when the input's index is
# negligible: moving the date that far then takes several inputs at once, or values outside the priors. A
# nearer target (2031) shows what the answer looks like when single inputs can get there. The mixture arm is
# left out here: it is a yes/no switch, not a quantity one could believe a value of.

# %%
for target in TARGET_YEARS:
    believe = what_you_would_have_to_believe(base_result.inputs, exhaustion_or_horizon, target=target)
    reachable = believe[believe["reachable"]].sort_values("first_order_index", ascending=False)
    print(f"median exhaustion in {target:g}: {len(reachable)} of {len(believe)} inputs can get there alone")
    display((reachable if len(reachable) else believe).round(3))

# %% [markdown]
# ## 5. Extensions: AI-written text, synthetic data, non-public stocks
#
# Three departures from Villalobos et al. 2024, each a switch of a scenario (`human_share`, `synthetic`,
# `extra_stocks`; each a module of `forecast.projection.switches`, with its settings and cited priors). A
# scenario with a switch on is also projected with every switch off on the same draws, so each effect below is a
# paired, draw-by-draw difference.
#
# The AI-written share of new web text is fitted in the main model (variables `ai_c_max`, `ai_k`, `ai_t0`):
# a logistic rise with detector false-positive and false-negative rates, fitted to Graphite's and Dolezal et
# al.'s measurements (`data/web_growth.csv`).

# %%
share_figure = go.Figure()
if "ai_c_max" in idata.posterior:
    t = np.linspace(2020.0, 2030.0, 121)
    curves = ai_share(t, *(np.asarray(idata.posterior[n].values).ravel() for n in ("ai_c_max", "ai_k", "ai_t0")))
    low, mid, high = np.quantile(curves, [0.05, 0.5, 0.95], axis=0) * 100
    share_figure.add_trace(go.Scatter(x=t, y=high, line={"width": 0}, showlegend=False))
    share_figure.add_trace(go.Scatter(x=t, y=low, fill="tonexty", line={"width": 0}, name="fitted share, 90%"))
    share_figure.add_trace(go.Scatter(x=t, y=mid, name="fitted share (median)"))
ai_data = ai_share_data_from_frame(bundle.web_growth)
for series in np.unique(ai_data.series):
    mask = ai_data.series == series
    share_figure.add_trace(go.Scatter(x=ai_data.t[mask], y=ai_data.share[mask] * 100, mode="markers", name=series))
share_figure.update_layout(
    title="AI-generated share of new web text", xaxis_title="year", yaxis_title="share of new content (%)"
)
share_figure.show()

# %% [markdown]
# Now switch each extension on in a copy of the base scenario. Try other values: `discount` (confidence in
# the detectors, 0–1), the synthetic `value_per_token` or `min_real_share` intervals, or a different list of
# extra stocks with their access fractions.

# %%
switched = [
    variant(base, name="human-share", human_share=HumanShareSettings(enabled=True, discount=1.0)),
    variant(base, name="human-share-half-trust", human_share=HumanShareSettings(enabled=True, discount=0.5)),
    variant(base, name="synthetic", synthetic=SyntheticSettings(enabled=True)),
    variant(base, name="nonpublic", extra_stocks=ExtraStocksSettings(enabled=True)),
]
extension_results = [project_scenario(s, posterior, bundle.stock_priors, SEED, known=known) for s in switched]
effects = extension_effects(extension_results)
display(effects.round(2))

# %% [markdown]
# Synthetic data: the date of the human stock alone, with the synthetic supplement, and the date at which a
# frontier dataset's real share would fall below the collapse guard r* (Shumailov et al. 2024: ~10% real data
# kept largely avoids collapse).

# %%
synthetic_result = next(r for r in extension_results if r.name == "synthetic")
dates = {
    "human data alone": synthetic_result.crossing_year,
    "with synthetic data": synthetic_result.synthetic_year,
    "real share below the guard": synthetic_result.guard_year,
}
synthetic_figure = go.Figure()
for label, years in dates.items():
    synthetic_figure.add_trace(go.Histogram(x=years[~np.isnan(years)], name=label, opacity=0.6, nbinsx=40))
synthetic_figure.update_layout(
    barmode="overlay", title="Synthetic data and the collapse guard", xaxis_title="year", yaxis_title="draws"
)
synthetic_figure.show()

# %% [markdown]
# Years bought by each non-public or multimodal stock on its own, and by all of them together ([P2] §3.3:
# ~1.5 years for ~3 quadrillion tokens).

# %%
bought = effects[effects["scenario"] == "nonpublic"]
bought_figure = go.Figure(go.Bar(x=bought["effect"].str.removeprefix("extra stock: "), y=bought["shift_years"]))
bought_figure.update_layout(title="Years bought (difference of median dates)", xaxis_title="stock", yaxis_title="years")
bought_figure.show()

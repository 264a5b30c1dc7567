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
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from IPython.display import display
from plotly.subplots import make_subplots

import forecast
from forecast.config import (
    Interval,
    Overtraining,
    ResolvedScenario,
    list_presets,
    load_config,
    parse_config,
    resolve,
)
from forecast.contamination import ai_share, ai_share_data_from_frame, divergences, fit_ai_share, share_params
from forecast.data import load_bundle
from forecast.draws import flatten
from forecast.errors import ConfigError
from forecast.exhaustion import censored_quantiles, first_crossing, probability_by_year
from forecast.extensions import (
    ExtraStocksSettings,
    HumanShareSettings,
    SyntheticSettings,
    draw_interval,
    extra_stock_draws,
    median_years_bought,
    years_bought,
)
from forecast.fit import diagnose, posterior_arrays
from forecast.outputs import package_versions
from forecast.pipeline import fit_posterior
from forecast.scenarios import (
    demand_paths,
    exhaustion_dataset,
    probability_table,
    project_scenario,
    stock_paths,
    summary_table,
    time_grid,
)
from forecast.sensitivity import first_order_indices, what_you_would_have_to_believe
from forecast.stock import human_only_log10_stock
from forecast.synthetic import synthetic_available, synthetic_dates
from forecast.units import decimal_year

NOTEBOOK_STARTED = time.perf_counter()
SMOKE = os.environ.get("FORECAST_SMOKE_TEST") == "1"


def find_repo_root() -> Path:
    """The folder holding data/sources.yml, searched upwards from the working directory, then the package."""
    for start in (Path.cwd().resolve(), Path(forecast.__file__).resolve().parent):
        for folder in (start, *start.parents):
            if (folder / "data" / "sources.yml").is_file():
                return folder
    raise FileNotFoundError("data/sources.yml not found above the working directory or the forecast package")


DATA_DIR = find_repo_root() / "data"
# A preset name ("default", "villalobos2024") or the path of your own YAML file.
CONFIG = os.environ.get("FORECAST_NOTEBOOK_CONFIG", "default")
BASE_SCENARIO = "mixture-optimal"  # the scenario the what-ifs start from (first scenario if absent)
# Smoke mode: small, unconverged samples that exercise every cell quickly; otherwise the config's sampler.
SMOKE_SAMPLER = {"draws": 100, "tune": 200, "chains": 2}
AI_SHARE_SAMPLER = {"draws": 200, "tune": 300, "chains": 2} if SMOKE else {"draws": 1000, "tune": 1000, "chains": 4}
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
# `forecast.pipeline.fit_posterior` samples the posterior, or loads it from the cache when a previous run used
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
# Prior overrides take a `forecast.config.Interval`: a distribution with its central interval and a source.

# %%
base = {s.name: s for s in resolved}.get(BASE_SCENARIO, resolved[0])


def variant(scenario: ResolvedScenario, **changes: object) -> ResolvedScenario:
    """A validated copy of `scenario` with `changes` applied."""
    return ResolvedScenario.model_validate(scenario.model_copy(update=changes).model_dump())


stricter_quality = Interval(
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
results = [project_scenario(s, posterior, bundle.stock_priors, SEED) for s in what_ifs]
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
# that each input explains on its own (`forecast.sensitivity.first_order_indices`). **Censored draws are
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
# ## 5. Extensions
#
# Three departures from Villalobos et al. 2024, each applied here to the base scenario's paths so that the
# comparison is draw by draw (same posterior draw, same demand path).
#
# ### (a) AI-written text: fit the AI share, discount the human stock
#
# `forecast.contamination` fits a logistic rise of the AI-written share of new web text to the detector
# measurements (with false-positive and false-negative rates per detector). Only the *human* part of text
# added after ChatGPT's release then counts toward the stock (`forecast.stock.human_only_log10_stock`).

# %%
ai_data = ai_share_data_from_frame(bundle.web_growth)
started = time.perf_counter()
ai_idata = fit_ai_share(ai_data, seed=SEED, **AI_SHARE_SAMPLER)
print(f"AI-share fit in {time.perf_counter() - started:.1f} s, {divergences(ai_idata)} divergences")
params = share_params(ai_idata)
t = np.linspace(2020.0, 2030.0, 121)
curve = ai_share(t, params["c_max"], params["k"], params["t0"]) * 100
low, mid, high = np.quantile(curve, [0.05, 0.5, 0.95], axis=0)
fig = go.Figure()
fig.add_trace(go.Scatter(x=t, y=high, mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip"))
fig.add_trace(
    go.Scatter(
        x=t,
        y=low,
        mode="lines",
        line={"width": 0},
        fill="tonexty",
        name="fitted share: 90% band",
        hoverinfo="skip",
    )
)
fig.add_trace(
    go.Scatter(
        x=t,
        y=mid,
        mode="lines",
        name="fitted share: median",
        hovertemplate="%{x:.1f}: %{y:.0f}%<extra></extra>",
    )
)
for series in np.unique(ai_data.series):
    pick = ai_data.series == series
    fig.add_trace(
        go.Scatter(
            x=ai_data.t[pick],
            y=ai_data.share[pick] * 100,
            mode="markers",
            marker={"size": 9},
            name=f"measured: {series}",
            hovertemplate="%{x:.2f}: %{y:.1f}%<extra>" + series + "</extra>",
        )
    )
fig.update_layout(
    title="AI-written share of new web text: measurements and fit (typical plateau, before detector error)",
    xaxis_title="year",
    yaxis_title="AI-written share (%)",
    yaxis_range=[0, 100],
)
fig.show()

# %%
human_share_settings = HumanShareSettings(enabled=True)  # discount 1: detector shares taken at face value
# The discount applies to text added after from_year, so the grid must start before it.
grid_ai = time_grid(np.floor(human_share_settings.from_year), float(base.horizon))
pair = np.random.default_rng([SEED, 1]).integers(0, params["c_max"].size, size=base_result.crossing_year.size)
# The AI-share posterior is independent of the main fit, so pairing its draws at random with ours is exact.
share_paths = ai_share(grid_ai, params["c_max"][pair], params["k"][pair], params["t0"][pair])
stock_all = stock_paths(base, base_result.inputs, grid_ai)["effective"]
stock_human = human_only_log10_stock(
    grid_ai, stock_all, share_paths, human_share_settings.from_year, human_share_settings.discount
)
demand_ai = demand_paths(base, base_result.inputs, grid_ai, SEED)[0]
date_all = first_crossing(grid_ai, demand_ai - stock_all).year
date_human = first_crossing(grid_ai, demand_ai - stock_human).year
lost = -years_bought(date_human, date_all, horizon=base_result.horizon)
print(
    f"median exhaustion: all text {censored_quantiles(date_all)['median']:.2f}, human text only "
    f"{censored_quantiles(date_human)['median']:.2f}; median years lost {np.median(lost):.2f} "
    f"(80% of draws: {np.quantile(lost, 0.1):.2f} to {np.quantile(lost, 0.9):.2f})"
)

fig = make_subplots(
    rows=1, cols=2, subplot_titles=["effective stock, median over draws (tokens)", "P(exhausted by year)"]
)
for label, log10_path, dates, color in [
    ("all new text counts", stock_all, date_all, "#2ca02c"),
    ("only human-written new text", stock_human, date_human, "#9467bd"),
]:
    fig.add_trace(
        go.Scatter(x=grid_ai, y=10 ** np.median(log10_path, axis=0), mode="lines", name=label, line={"color": color}),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=years,
            y=probability_by_year(dates, years),
            mode="lines",
            line={"color": color},
            name=label,
            showlegend=False,
        ),
        row=1,
        col=2,
    )
fig.update_yaxes(type="log", title_text="tokens (log scale)", row=1, col=1)
fig.update_yaxes(title_text="probability", range=[0, 1], row=1, col=2)
fig.update_xaxes(title_text="year", range=[2022, 2050])
fig.update_layout(title=f"Discounting AI-written text, scenario {base.name}", height=450)
fig.show()

# %% [markdown]
# ### (b) Synthetic data, with a model-collapse guard
#
# Synthetic tokens can stand in for human ones at a value `v` each (a few percent of a fresh human token), and
# only while a training set keeps a minimum real share `r*` (`forecast.synthetic`; priors and their citations
# in `forecast.extensions.SyntheticSettings`). Three dates per draw: human text alone runs out; human plus
# usable synthetic text runs out; the run would need a real share below `r*` (the guard binds).

# %%
synthetic = SyntheticSettings(enabled=True)
n = base_result.crossing_year.size
rng = np.random.default_rng([SEED, 2])
value = draw_interval(synthetic.value_per_token, n, rng)
min_real = draw_interval(synthetic.min_real_share, n, rng)
rate = draw_interval(synthetic.tokens_per_year, n, rng)
growth = draw_interval(synthetic.growth_per_year, n, rng)
grid = time_grid(float(decimal_year(base.projection_start)[0]), float(base.horizon))
log10_demand = demand_paths(base, base_result.inputs, grid, SEED)[0]
log10_stock = stock_paths(base, base_result.inputs, grid)["effective"]
available = synthetic_available(grid, synthetic.start_year, rate, growth)
dates = synthetic_dates(grid, 10**log10_demand, 10**log10_stock, available, value, min_real)
print(
    "human-only date equals the base projection:",
    np.allclose(dates["human_only"].year, base_result.crossing_year, equal_nan=True),
)
rows = []
for name, crossing_dates in dates.items():
    q = censored_quantiles(crossing_dates.year)
    rows.append(
        {
            "date": name,
            "median": q["median"],
            "q10": q["q10"],
            "q90": q["q90"],
            "share censored": crossing_dates.censored.mean(),
        }
    )
display(pd.DataFrame(rows).round(2))

fig = go.Figure()
for name, crossing_dates in dates.items():
    fig.add_trace(
        go.Scatter(
            x=years,
            y=probability_by_year(crossing_dates.year, years),
            mode="lines",
            name=name,
            hovertemplate="by %{x:.1f}: %{y:.0%}<extra>" + name + "</extra>",
        )
    )
fig.update_layout(
    title=f"Synthetic data: when each limit is reached, scenario {base.name}",
    xaxis_title="year",
    yaxis_title="P(reached by year)",
    xaxis_range=[2024, 2050],
    yaxis_range=[0, 1],
)
fig.show()

# %% [markdown]
# ### (c) Years bought by non-public stocks
#
# Private messages, email, the deep web, images and video hold far more text-equivalent tokens than the public
# web, but only a small, uncertain share could be used (`forecast.extensions.ExtraStocksSettings`: token
# stocks and access fractions with their citations and judgements). Here the accessible tokens of each draw
# are added, as a constant amount, to the effective public stock; Villalobos et al. 2024 (§3.3) estimate
# ~1.5 years.

# %%
extra_settings = ExtraStocksSettings(enabled=True)
extra = extra_stock_draws(extra_settings, n, np.random.default_rng([SEED, 3]))
extra_total = np.sum(list(extra.values()), axis=0)
log10_stock_plus = np.log10(10**log10_stock + extra_total[:, None])
date_plus = first_crossing(grid, log10_demand - log10_stock_plus).year
bought = years_bought(date_plus, base_result.crossing_year, horizon=base_result.horizon)
print(
    f"median years bought: {median_years_bought(date_plus, base_result.crossing_year):.2f} "
    f"(difference of medians); per draw: median {np.median(bought):.2f}, "
    f"80% of draws {np.quantile(bought, 0.1):.2f} to {np.quantile(bought, 0.9):.2f} "
    "(censored dates set to the horizon)"
)

fig = make_subplots(rows=1, cols=2, subplot_titles=["accessible tokens per stock (draws)", "years bought per draw"])
for name, tokens in extra.items():
    fig.add_trace(go.Box(x=tokens, name=name, boxpoints=False, showlegend=False), row=1, col=1)
fig.add_trace(go.Histogram(x=bought, nbinsx=40, showlegend=False, marker_color="#636efa"), row=1, col=2)
fig.update_xaxes(type="log", title_text="tokens (log scale)", row=1, col=1)
fig.update_xaxes(title_text="years", row=1, col=2)
fig.update_yaxes(title_text="draws", row=1, col=2)
fig.update_layout(title=f"Non-public stocks added to the effective stock, scenario {base.name}", height=450)
fig.show()

# %%
print(f"wall time since the setup cell: {time.perf_counter() - NOTEBOOK_STARTED:.1f} s")

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
# # 02 · The model
#
# **What this notebook answers:** what exactly is fitted, is the fit trustworthy, and how does a fitted
# posterior become an exhaustion date?
#
# 1. which recorded runs the frontier fits use (*frontier candidates*);
# 2. the priors, and what they imply before seeing data (prior predictive check);
# 3. the NUTS fit and its diagnostics (R-hat, ESS, divergences);
# 4. what the data taught the model (posterior vs prior) and whether the fit reproduces the recorded runs
#    (posterior predictive check);
# 5. the exhaustion date of **one** posterior draw, step by step, then of **all** draws.
#
# In smoke mode (`FORECAST_SMOKE_TEST=1`, used by the test suite) the sampler runs only a few hundred draws:
# the diagnostics will then flag too few effective draws, which is expected. Unset it for the real settings.

# %%
import os
import time

import arviz as az
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from IPython.display import display
from plotly.subplots import make_subplots
from scipy import stats

from forecast.config import load_config, resolve
from forecast.data import find_data_dir, has_flag, load_bundle
from forecast.hashing import package_versions
from forecast.model.blocks import build_model
from forecast.model.fit import fit_blocks, fit_data_of, fit_hash_of
from forecast.model.frontier import CANDIDATE_WINDOW_OOM
from forecast.model.record_paths import record_path_check
from forecast.model.sample import diagnostics_of, posterior_arrays, posterior_predictive, prior_predictive
from forecast.model.trend import ANCHOR_YEAR
from forecast.projection.crossing import first_crossing
from forecast.projection.inputs import flatten
from forecast.projection.memo import BAND_QUANTILES
from forecast.projection.project import project_scenario
from forecast.projection.scenario_model import demand_paths, scenario_inputs, stock_paths, time_grid
from forecast.projection.tables import exhaustion_dataset, probability_table, summary_table
from forecast.report.figures import record_check_figure
from forecast.run.pipeline import known_at_cutoff
from forecast.units import decimal_year, from_decimal_year

NOTEBOOK_STARTED = time.perf_counter()
SMOKE = os.environ.get("FORECAST_SMOKE_TEST") == "1"


DATA_DIR = find_data_dir()
config = load_config("default")  # or a path: load_config("my_scenarios.yml")
SEED = config.seed
# Smoke mode: a quick, unconverged fit that exercises every cell; otherwise the preset's sampler settings.
sampler = config.sampler.model_copy(update={"draws": 100, "tune": 200, "chains": 2}) if SMOKE else config.sampler
PRIOR_DRAWS = 200 if SMOKE else 1000
SCENARIO = "mixture-optimal"  # the scenario followed in sections 7-8 (the first one if absent)
# The dataset frontier's likelihood: the record process (the default) or the stochastic frontier of every candidate.
RECORD_FIT = config.fit.frontier.likelihood == "record"

pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 60)
print(f"data: {DATA_DIR}   smoke mode: {SMOKE}   sampler: {sampler.model_dump()}")
display(pd.Series(package_versions(), name="version").to_frame())

# %% [markdown]
# ## 1. What the model is fitted to
#
# `forecast.model.fit.fit_data_of` (through `forecast.model.frontier.fit_data_from_frames`) selects and transforms
# the rows each likelihood block uses: the record path of dataset tokens, log10 training compute of frontier
# candidates published from 2020 on, the share of the world population online (OWID + ITU), the measured AI share
# of new web text, and what compute costs (`data/compute_supply.csv`: FLOP per dollar, FLOP per joule, world product).

# %%
bundle = load_bundle(DATA_DIR, cutoff=config.data.cutoff)
fit_data = fit_data_of(config, bundle)  # what a run fits: runs, web growth and compute supply, cut at the cut-off
display(
    pd.DataFrame(
        {
            "block": ["dataset frontier", "compute frontier", "internet adoption"],
            "points": [fit_data.dataset_year.size, fit_data.compute_year.size, fit_data.adoption_year.size],
            "first": [fit_data.dataset_year.min(), fit_data.compute_year.min(), fit_data.adoption_year.min()],
            "last": [fit_data.dataset_year.max(), fit_data.compute_year.max(), fit_data.adoption_year.max()],
            "observed": ["log10 tokens", "log10 FLOP", "share online (0-1)"],
        }
    ).round(2)
)

# %% [markdown]
# ## 2. Frontier candidates
#
# The recorded runs mix frontier runs with many small open models. A stochastic frontier lets runs sit below
# the frontier (a half-normal shortfall), but on *all* runs the frontier collapses onto the mean line. So only
# runs within `CANDIDATE_WINDOW_OOM` (1 order of magnitude) of the running record at their publication date
# enter the fit. Leaked figures are judged against the record but never set it, and they get extra noise
# (`fit.leak_rows: downweight`) or are dropped (`exclude`).
#
# The record line below is drawn for display (largest non-leaked count so far).

# %%
runs = bundle.runs


def candidate_role(frame: pd.DataFrame, fitted: np.ndarray) -> pd.Series:
    """Label each run: fitted candidate, fitted leak, or left out."""
    used = frame["model"].isin(fitted)
    leak = has_flag(frame, "leak")
    return pd.Series(
        np.select(
            [used & leak, used, leak],
            ["candidate (leak: extra noise)", "frontier candidate", "leak (excluded)"],
            f"not a candidate (> {CANDIDATE_WINDOW_OOM:g} OOM below record)",
        ),
        index=frame.index,
    )


def candidates_figure(frame: pd.DataFrame, column: str, fitted: np.ndarray, title: str, unit: str) -> go.Figure:
    """Recorded runs coloured by whether they enter the fit, with the running record and its window."""
    frame = frame.sort_values("publication_date").assign(role=lambda f: candidate_role(f, fitted))
    record = frame[column].where(~has_flag(frame, "leak")).cummax()
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=frame["publication_date"],
            y=record,
            mode="lines",
            line={"shape": "hv", "color": "black"},
            name="running record",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=frame["publication_date"],
            y=record / 10**CANDIDATE_WINDOW_OOM,
            mode="lines",
            line={"shape": "hv", "color": "black", "dash": "dot"},
            name=f"record − {CANDIDATE_WINDOW_OOM:g} OOM",
        )
    )
    for role, rows in frame.groupby("role"):
        fig.add_trace(
            go.Scatter(
                x=rows["publication_date"],
                y=rows[column],
                mode="markers",
                name=role,
                text=rows["model"],
                marker={"size": 8, "symbol": "x" if "leak" in role else "circle"},
                hovertemplate="%{text}<br>%{x|%Y-%m-%d}<br>%{y:.3g} " + unit + "<extra>" + role + "</extra>",
            )
        )
    fig.update_layout(title=title, xaxis_title="publication date", yaxis_title=f"{unit} (log scale)")
    fig.update_yaxes(type="log")
    return fig


candidates_figure(
    runs[runs["dataset_tokens"].notna()],
    "dataset_tokens",
    fit_data.dataset_runs,
    "Dataset frontier: which runs are fitted",
    "tokens",
).show()
candidates_figure(
    runs[runs["training_compute_flop"].notna() & (runs["publication_date"].dt.year >= 2020)],
    "training_compute_flop",
    fit_data.compute_runs,
    "Compute frontier (runs from 2020): which runs are fitted",
    "FLOP",
).show()

# %% [markdown]
# ## 3. Priors and the prior predictive check
#
# The frontier is `log10 y = level + growth · (t − 2024)`; `level` and `growth` have the normal priors of the
# config's `fit` section (below). The other scales are weakly informative constants: the record process's jump
# scale (`forecast.model.record.RECORD_SCALE_PRIOR`) when the dataset frontier is a record process, the noise and
# shortfall scales of `forecast.model.frontier` for a stochastic frontier (the compute frontier always is one).
# The prior predictive check draws parameters from the priors and simulates data: simulated runs (or, for the
# record process, simulated record paths from the first run's record on) should *cover* the recorded ones without
# being absurdly narrow or wide.

# %%
priors = config.fit  # the model reads the config's `fit` priors as they are
display(
    pd.DataFrame(
        {
            name: {"mean": getattr(priors, name).mean, "sd": getattr(priors, name).sd}
            for name in ("dataset_level_2024", "dataset_growth", "compute_level_2024", "compute_growth")
        }
    ).T.assign(unit=["log10 tokens at 2024", "OOM / yr", "log10 FLOP at 2024", "OOM / yr"])
)
model = build_model(fit_data, priors)
started = time.perf_counter()
prior = prior_predictive(model, PRIOR_DRAWS, SEED)
print(f"{PRIOR_DRAWS} prior predictive draws in {time.perf_counter() - started:.1f} s")


# %%
def draws_of(tree, group: str, name: str) -> np.ndarray:
    """A variable of a DataTree group with chain and draw flattened into the first axis."""
    values = np.asarray(tree[group][name].values)
    return values.reshape(-1, *values.shape[2:])


def frontier_figure(
    title: str,
    unit: str,
    year: np.ndarray,
    observed: np.ndarray,
    names: np.ndarray,
    level: np.ndarray,
    growth: np.ndarray,
    predictive: np.ndarray,
    n_lines: int = 40,
) -> go.Figure:
    """Recorded runs, a sample of frontier lines, and each run's 90% predictive interval (log10 inputs)."""
    t = np.linspace(year.min() - 0.3, ANCHOR_YEAR + 1.0, 60)
    fig = go.Figure()
    pick = np.random.default_rng(SEED).choice(level.size, size=min(n_lines, level.size), replace=False)
    for j, i in enumerate(pick):
        fig.add_trace(
            go.Scatter(
                x=t,
                y=10 ** (level[i] + growth[i] * (t - ANCHOR_YEAR)),
                mode="lines",
                line={"width": 1, "color": "rgba(99, 110, 250, 0.3)"},
                name="frontier (one line per draw)",
                legendgroup="frontier",
                showlegend=j == 0,
                hoverinfo="skip",
            )
        )
    low, mid, high = np.quantile(predictive, [0.05, 0.5, 0.95], axis=0)
    fig.add_trace(
        go.Scatter(
            x=year,
            y=10**mid,
            mode="markers",
            marker={"color": "grey", "symbol": "line-ew-open", "size": 10},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": 10**high - 10**mid,
                "arrayminus": 10**mid - 10**low,
            },
            name="simulated run: median, 90% interval",
            text=names,
            hovertemplate="%{text}: simulated median %{y:.3g}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=year,
            y=10**observed,
            mode="markers",
            marker={"color": "black", "size": 7},
            name="recorded run",
            text=names,
            hovertemplate="%{text}<br>%{x:.2f}: %{y:.3g} " + unit + "<extra></extra>",
        )
    )
    inside = np.mean((observed >= low) & (observed <= high))
    fig.update_layout(
        title=f"{title}<br><sup>{inside:.0%} of recorded runs inside their 90% predictive interval</sup>",
        xaxis_title="publication date (decimal year)",
        yaxis_title=f"{unit} (log scale)",
    )
    fig.update_yaxes(type="log")
    return fig


def record_check(tree, group: str):
    """The record-path check of the dataset frontier from the draws of one group (prior or posterior)."""
    draws = {str(name): tree[group][name].values for name in tree[group].data_vars if str(name).startswith("dataset_")}
    return record_path_check(draws, fit_data.dataset_record, np.random.default_rng(SEED), draws=400)


if RECORD_FIT:
    record_check_figure(record_check(prior, "prior"), "Prior predictive: dataset record path", "prior").show()
else:
    frontier_figure(
        "Prior predictive: dataset frontier",
        "tokens",
        fit_data.dataset_year,
        fit_data.dataset_log10,
        fit_data.dataset_runs,
        draws_of(prior, "prior", "dataset_level"),
        draws_of(prior, "prior", "dataset_growth"),
        draws_of(prior, "prior_predictive", "dataset_obs"),
    ).show()
frontier_figure(
    "Prior predictive: compute frontier",
    "FLOP",
    fit_data.compute_year,
    fit_data.compute_log10,
    fit_data.compute_runs,
    draws_of(prior, "prior", "compute_level"),
    draws_of(prior, "prior", "compute_growth"),
    draws_of(prior, "prior_predictive", "compute_obs"),
).show()

# %% [markdown]
# ## 4. The fit
#
# The blocks share no parameter, so the fit samples each on its own (`forecast.model.fit.fit_blocks`, as a run
# does): NUTS through `forecast.model.sample.sample_posterior` with the block's own target_accept
# (`sampler.block_target_accept`) and a seed derived from the config's seed and the block's name; the same seed and
# settings give the same draws. The blocks' posteriors are then assembled into one (`forecast.model.blocks`).

# %%
fit_config = config.model_copy(update={"sampler": sampler})
started = time.perf_counter()
idata, _ = fit_blocks(fit_data, fit_config, fit_hash_of(fit_data, fit_config), use_cache=not SMOKE)
print(
    f"{sampler.chains} chains × {sampler.draws} draws (+{sampler.tune} tuning) per block in "
    f"{time.perf_counter() - started:.1f} s"
)

# %% [markdown]
# ### Diagnostics
#
# `forecast.model.sample.diagnose` summarises every scalar parameter of a block with ArviZ (`az.summary`, 90%
# intervals) and checks R-hat ≤ 1.01, bulk ESS ≥ 400, no divergent transitions (Vehtari et al. 2021) and E-BFMI ≥
# 0.3 (Betancourt 2016), and counts draws at the maximum tree depth; `combine` gathers the blocks' diagnostics.

# %%
diagnostics = diagnostics_of(idata)
print(diagnostics.as_dict())
print("converged" if diagnostics.converged else "NOT converged: " + "; ".join(diagnostics.problems()))
display(diagnostics.blocks.round(3))
display(diagnostics.table[["mean", "sd", "ess_bulk", "ess_tail", "r_hat"]].astype(float).round(3))

# %% [markdown]
# The same numbers straight from ArviZ, for the four parameters that drive demand (means, 90% equal-tailed
# intervals, Monte Carlo standard errors):

# %%
headline = ["dataset_level", "dataset_growth", "compute_level", "compute_growth"]
display(az.summary(idata, var_names=headline, ci_prob=0.9, round_to="none").astype(float).round(3))

# %%
fig = make_subplots(rows=len(headline), cols=1, shared_xaxes=True, subplot_titles=headline)
for row, name in enumerate(headline, start=1):
    values = idata.posterior[name].values
    for chain in range(values.shape[0]):
        fig.add_trace(
            go.Scatter(
                y=values[chain],
                mode="lines",
                line={"width": 1},
                name=f"chain {chain}",
                legendgroup=f"chain {chain}",
                showlegend=row == 1,
            ),
            row=row,
            col=1,
        )
fig.update_layout(title="Trace plots (chains should overlap and look like noise)", height=180 * len(headline))
fig.update_xaxes(title_text="draw", row=len(headline), col=1)
fig.show()

# %% [markdown]
# ## 5. What the data taught the model: posterior vs prior
#
# For the two growth rates that set the pace of demand. Lines are the prior densities, bars the posterior
# draws. For reference: Villalobos et al. 2024 fit 0.38 OOM/yr for the largest dataset; Epoch AI measures
# frontier compute growing 4–5× a year (0.6–0.7 OOM/yr).

# %%
references = {"dataset_growth": (0.38, 0.38), "compute_growth": (np.log10(4), np.log10(5))}
fig = make_subplots(rows=1, cols=2, subplot_titles=["dataset_growth (OOM / yr)", "compute_growth (OOM / yr)"])
for col, name in enumerate(references, start=1):
    spec = getattr(priors, name)
    x = np.linspace(spec.mean - 3 * spec.sd, spec.mean + 3 * spec.sd, 200)
    fig.add_trace(
        go.Histogram(
            x=idata.posterior[name].values.ravel(),
            histnorm="probability density",
            name="posterior",
            marker_color="#636efa",
            opacity=0.7,
            legendgroup="post",
            showlegend=col == 1,
        ),
        row=1,
        col=col,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=stats.norm.pdf(x, spec.mean, spec.sd),
            mode="lines",
            name="prior",
            line={"color": "black", "dash": "dash"},
            legendgroup="prior",
            showlegend=col == 1,
        ),
        row=1,
        col=col,
    )
    low, high = references[name]
    fig.add_vrect(x0=low - 0.005, x1=high + 0.005, fillcolor="orange", opacity=0.3, line_width=0, row=1, col=col)
fig.update_layout(title="Posterior vs prior of the frontier growth rates (orange: published estimates)")
fig.update_yaxes(title_text="density", row=1, col=1)
fig.show()

# %% [markdown]
# ## 6. Posterior predictive check
#
# Simulated data from the fitted model against the recorded data. For the record process (the default dataset
# frontier) that is the record path itself: records simulated from the first run's record on, with the number of
# new records and the longest plateau as test statistics (the same check as the report's). For a stochastic
# frontier, and for compute, it is simulated runs: the frontier is an *upper* boundary with a shortfall below
# it, so most recorded runs sit under the frontier lines (that is the model, not a misfit); what matters is that
# the recorded runs fall inside their predictive intervals at about the nominal rate.

# %%
ppc = posterior_predictive(model, idata, SEED)
if RECORD_FIT:
    record_check_figure(record_check(idata, "posterior"), "Posterior predictive: dataset record path").show()
else:
    frontier_figure(
        "Posterior predictive: dataset frontier",
        "tokens",
        fit_data.dataset_year,
        fit_data.dataset_log10,
        fit_data.dataset_runs,
        draws_of(idata, "posterior", "dataset_level"),
        draws_of(idata, "posterior", "dataset_growth"),
        draws_of(ppc, "posterior_predictive", "dataset_obs"),
    ).show()
frontier_figure(
    "Posterior predictive: compute frontier",
    "FLOP",
    fit_data.compute_year,
    fit_data.compute_log10,
    fit_data.compute_runs,
    draws_of(idata, "posterior", "compute_level"),
    draws_of(idata, "posterior", "compute_growth"),
    draws_of(ppc, "posterior_predictive", "compute_obs"),
).show()

# %%
adoption = draws_of(ppc, "posterior_predictive", "adoption_obs") * 100
low, mid, high = np.quantile(adoption, [0.05, 0.5, 0.95], axis=0)
fig = go.Figure()
fig.add_trace(
    go.Scatter(
        x=fit_data.adoption_year,
        y=mid,
        mode="markers",
        marker={"color": "grey", "symbol": "line-ew-open"},
        error_y={"type": "data", "symmetric": False, "array": high - mid, "arrayminus": mid - low},
        name="simulated: median, 90% interval",
    )
)
fig.add_trace(
    go.Scatter(
        x=fit_data.adoption_year,
        y=fit_data.adoption_share * 100,
        mode="markers",
        marker={"color": "black"},
        name="recorded (OWID, ITU)",
    )
)
fig.update_layout(
    title="Posterior predictive: share of the world population online",
    xaxis_title="year",
    yaxis_title="share online (%)",
)
fig.show()

# %% [markdown]
# ## 7. From one posterior draw to one exhaustion date
#
# A scenario (here the preset's `mixture-optimal`) turns each posterior draw, joined with forward draws of the
# inputs that have no likelihood (indexed pages, bytes per page and per token, quality fraction, epochs, ...),
# into one **demand path** (the largest training dataset over time) and one **stock path** (the effective
# stock of public human text). The exhaustion date is the first time demand reaches the stock: the first
# zero of the **gap** `log10 demand − log10 stock`, interpolated linearly between the monthly grid points.
# Draws that never cross before the horizon are *censored* (kept, counted as "not by the horizon").

# %%
scenarios_by_name = {s.name: s for s in resolve(config)}
scenario = scenarios_by_name.get(SCENARIO, next(iter(scenarios_by_name.values())))
posterior = flatten(posterior_arrays(idata))
inputs = scenario_inputs(scenario, posterior, bundle.stock_priors, SEED)
grid = time_grid(float(decimal_year(scenario.projection_start)[0]), float(scenario.horizon))
log10_demand, log10_compute, historical_arm = demand_paths(scenario, inputs, grid, SEED)
log10_stock = stock_paths(scenario, inputs, grid)
gap = log10_demand - log10_stock["effective"]
crossing = first_crossing(grid, gap)

# Follow the draw whose date is closest to the median date (any draw would do).
median_year = np.nanmedian(crossing.year)
i = int(np.nanargmin(np.abs(crossing.year - median_year)))
print(f"scenario {scenario.name!r}: {scenario.description}")
print(f"following draw {i}: demand from the {'historical-trend' if historical_arm[i] else 'compute'} arm")
display(pd.Series({name: values[i] for name, values in inputs.items()}, name=f"inputs of draw {i}").to_frame())

# %%
# Show the paths up to ten years past the crossing (the demand path grows by orders of magnitude after it).
end = grid[-1] if crossing.censored[i] else min(grid[-1], crossing.year[i] + 10.0)
shown = grid <= end
fig = make_subplots(
    rows=2,
    cols=1,
    shared_xaxes=True,
    row_heights=[0.65, 0.35],
    vertical_spacing=0.06,
    subplot_titles=["demand and stock (tokens)", "gap: log10 demand − log10 effective stock (OOM)"],
)
for name, path, style in [
    ("demand: largest training dataset", log10_demand[i], {"color": "#d62728", "width": 3}),
    ("stock: raw indexed web", log10_stock["raw"][i], {"color": "#2ca02c", "dash": "dot"}),
    ("stock: quality-filtered", log10_stock["quality"][i], {"color": "#2ca02c", "dash": "dash"}),
    (
        "stock: effective (with repeated epochs)",
        log10_stock["effective"][i],
        {"color": "#2ca02c", "width": 3},
    ),
]:
    fig.add_trace(
        go.Scatter(
            x=grid[shown],
            y=10 ** path[shown],
            mode="lines",
            line=style,
            name=name,
            hovertemplate="%{x:.2f}: %{y:.3g} tokens<extra></extra>",
        ),
        row=1,
        col=1,
    )
fig.add_trace(
    go.Scatter(
        x=grid[shown],
        y=gap[i, shown],
        mode="lines",
        line={"color": "black"},
        name="gap",
        hovertemplate="%{x:.2f}: %{y:.2f} OOM<extra></extra>",
    ),
    row=2,
    col=1,
)
fig.add_hline(y=0, line_dash="dot", row=2, col=1)
if not crossing.censored[i]:
    year = crossing.year[i]
    fig.add_vline(x=year, line_dash="dash", line_color="grey")
    fig.add_trace(
        go.Scatter(
            x=[year],
            y=[0.0],
            mode="markers",
            marker={"size": 12, "color": "black", "symbol": "x"},
            name=f"exhaustion: {from_decimal_year(year):%Y-%m}",
        ),
        row=2,
        col=1,
    )
fig.update_yaxes(type="log", title_text="tokens (log scale)", row=1, col=1)
fig.update_yaxes(title_text="OOM", row=2, col=1)
fig.update_xaxes(title_text="year", row=2, col=1)
fig.update_layout(title=f"One draw (#{i}) of scenario {scenario.name}", height=700)
fig.show()

# %% [markdown]
# The crossing itself: the first grid point with gap ≥ 0 and the one before it; the date is where the straight
# line between their gaps reaches zero (`forecast.projection.crossing.first_crossing`).

# %%
k = int(crossing.index[i])
display(
    pd.DataFrame(
        {
            "grid year": [grid[k - 1], grid[k], crossing.year[i]],
            "gap (OOM)": [gap[i, k - 1], gap[i, k], 0.0],
            "note": [
                "last point below",
                "first point at or above",
                f"interpolated, weight {crossing.fraction[i]:.3f}",
            ],
        },
        index=["before", "after", "crossing"],
    )
)
print(f"exhaustion date of draw {i}: {from_decimal_year(crossing.year[i]):%Y-%m-%d}")

# %% [markdown]
# ## 8. From all draws to the exhaustion distribution
#
# `forecast.projection.project.project_scenario` does the same for every draw at once (vectorised), and adds the
# dataset size and compute at the crossing and yearly bands. Without the now-cast (every draw counted alike) it
# must agree with the step-by-step version above.

# %%
every_draw = scenario.model_copy(update={"nowcast": scenario.nowcast.model_copy(update={"condition_on_record": False})})
assert np.allclose(
    project_scenario(every_draw, posterior, bundle.stock_priors, SEED).crossing_year, crossing.year, equal_nan=True
)

# %% [markdown]
# The preset ties every path to the record known at the data cut-off (`forecast.projection.nowcast`): draws
# whose stock was already below the record, or below their own frontier dataset then, are removed, and draws
# whose path disagrees with the fitted frontier at the cut-off are down-weighted. The report's now-cast table
# shows the effective sample size and Pareto k̂ of these weights.

# %%
known = known_at_cutoff(config, bundle)
result = project_scenario(scenario, posterior, bundle.stock_priors, SEED, known=known)
if result.nowcast is not None:
    report = result.nowcast
    print(
        f"record at {known.cutoff}: {known.record.tokens:.3g} tokens ({known.record.model}); "
        f"effective sample size {report.ess:.0f} of {report.draws}; removed: stock below the record "
        f"{report.share_stock_below_record:.1%}, exhausted at the cut-off {report.share_exhausted_at_cutoff:.1%}"
    )
exhaustion = exhaustion_dataset([result], sampler.chains, sampler.draws)
summary = summary_table(exhaustion)
display(summary)
display(probability_table(exhaustion, np.arange(2026, int(result.horizon) + 1, 4)).round(3))

# %%
censored_share = float(result.censored.mean())
fig = go.Figure()
for is_hist, label in [(True, "historical-trend arm"), (False, "compute arm")]:
    fig.add_trace(
        go.Histogram(
            x=result.crossing_year[(result.historical_arm == is_hist) & ~result.censored],
            name=label,
            xbins={"size": 0.5},
            hovertemplate="%{x}: %{y} draws<extra>" + label + "</extra>",
        )
    )
row = summary.iloc[0]
for q, dash in [("median", "solid"), ("q10", "dot"), ("q90", "dot")]:
    if np.isfinite(row[q]):
        fig.add_vline(x=row[q], line_dash=dash, line_color="black", annotation_text=q)
fig.update_layout(
    barmode="stack",
    title=(
        f"Exhaustion year, scenario {scenario.name} ({result.crossing_year.size} draws)<br>"
        f"<sup>{censored_share:.1%} of draws not exhausted by {result.horizon:.0f} (censored, not shown); "
        "lines: median and 80% interval</sup>"
    ),
    xaxis_title="exhaustion year",
    yaxis_title="draws",
)
fig.show()

# %% [markdown]
# The yearly bands behind the distribution: median and 80% band of the demanded dataset and of the effective
# stock (to 2045). Where the bands overlap, some draws have crossed and some have not.

# %%
fig = go.Figure()
quantiles = list(BAND_QUANTILES)
years = result.band_years <= min(result.horizon, 2045)  # later years only widen the demand fan
for name, color, label in [
    ("demand_tokens", "214, 39, 40", "demand"),
    ("stock_effective", "44, 160, 44", "stock"),
]:
    band = result.bands[name][years]
    low, mid, high = (band[:, quantiles.index(q)] for q in (0.10, 0.50, 0.90))
    fig.add_trace(
        go.Scatter(
            x=result.band_years[years],
            y=high,
            mode="lines",
            line={"width": 0},
            showlegend=False,
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=result.band_years[years],
            y=low,
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=f"rgba({color}, 0.2)",
            name=f"{label}: 80% band",
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=result.band_years[years],
            y=mid,
            mode="lines",
            line={"color": f"rgb({color})"},
            name=f"{label}: median",
            hovertemplate="%{x}: %{y:.3g} tokens<extra></extra>",
        )
    )
fig.update_yaxes(type="log", title_text="tokens (log scale)")
fig.update_layout(title=f"Demand vs effective stock, scenario {scenario.name}", xaxis_title="year")
fig.show()

# %%
print(f"wall time since the setup cell: {time.perf_counter() - NOTEBOOK_STARTED:.1f} s")

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
# # 01 · The data
#
# **What this notebook answers:** what do the recorded numbers say *before* any model is fitted? How fast have
# the largest training datasets and training runs grown, how large do published estimates put the stock of
# human text, how fast is the web itself growing, and how much of new web text is already machine-written?
#
# Everything is read through `forecast.data.load_bundle`, the same checked loader the model uses, so the
# figures show exactly what the fit sees. All figures are interactive: hover over a point for its source
# details, drag to zoom, double-click to reset.

# %%
import os
import time

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from IPython.display import display

from forecast.data import find_data_dir, has_flag, load_bundle
from forecast.hashing import package_versions
from forecast.model.ai_share import DEFAULT_SERIES as AI_SHARE_FIT_SERIES
from forecast.model.frontier import ADOPTION_SERIES, COMPUTE_WINDOW_START
from forecast.projection.switches.human_share import CHATGPT_RELEASE_YEAR
from forecast.units import BYTES_PER_TOKEN, bytes_to_tokens, from_decimal_year

NOTEBOOK_STARTED = time.perf_counter()
# Smoke mode (set by the test suite) only matters for notebooks that sample; this one reads data only.
SMOKE = os.environ.get("FORECAST_SMOKE_TEST") == "1"


DATA_DIR = find_data_dir()
pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 60)
print(f"data: {DATA_DIR}   smoke mode: {SMOKE}")
display(pd.Series(package_versions(), name="version").to_frame())

# %%
bundle = load_bundle(DATA_DIR)
runs = bundle.runs
print(
    f"{len(runs)} training runs ({runs['dataset_tokens'].notna().sum()} with a token count), "
    f"{len(bundle.stock_estimates)} stock estimates, {bundle.web_growth['series'].nunique()} web series"
)

# %% [markdown]
# ## 1. Training-set sizes over time: GPT-2 → GPT-3 → GPT-4
#
# `dataset_tokens` holds only token counts that a developer (or a leak) gave; nothing in the file is
# converted. Colour shows what a count means (`tokens_basis`): tokens *processed* in pre-training (repeats
# counted each time), the *unique* dataset size, or a *leak*.
#
# Two points of the GPT arc need a caveat:
#
# - **GPT-2** reported only **40 GB of text** (WebText). It has no token count in the data and is not fitted.
#   Here it is converted with `forecast.units.bytes_to_tokens` at the default 4 bytes per token
#   (Villalobos et al. 2024, App. E), and drawn as an open diamond so it is not mistaken for a reported count.
# - **GPT-4**'s **~13T tokens** is a second-hand **leak** (SemiAnalysis, July 2023) that reportedly counts
#   repeated passes (about 2 epochs of text and 4 of code), so it is not a unique-token count. The fit keeps
#   it with a large extra noise term (`fit.leak_rows: downweight`), or drops it (`exclude`).

# %%
GPT2, GPT3, GPT4 = "GPT-2 (1.5B)", "GPT-3 175B (davinci)", "GPT-4"
GPT2_BYTES = 40e9  # "40 GB of text (WebText ...)", column dataset_size_as_reported
gpt2 = runs.loc[runs["model"] == GPT2].iloc[0]
assert "40 GB" in gpt2["dataset_size_as_reported"], gpt2["dataset_size_as_reported"]
gpt2_tokens = float(bytes_to_tokens(GPT2_BYTES))

with_tokens = runs[runs["dataset_tokens"].notna()].copy()
with_tokens["flags_shown"] = with_tokens["flags"].replace("", "none")
fig = px.scatter(
    with_tokens,
    x="publication_date",
    y="dataset_tokens",
    color="tokens_basis",
    symbol="reliability",
    log_y=True,
    hover_name="model",
    hover_data={
        "organization": True,
        "dataset_size_as_reported": True,
        "flags_shown": True,
        "tokens_basis": True,
        "reliability": True,
        "publication_date": "|%Y-%m-%d",
        "dataset_tokens": ":.3g",
    },
    labels={
        "publication_date": "publication date",
        "dataset_tokens": "training dataset (tokens, log scale)",
        "tokens_basis": "tokens basis",
        "flags_shown": "flags",
        "dataset_size_as_reported": "as reported",
    },
    title="Training-set sizes of recorded language models",
)
arc = pd.DataFrame(
    {
        "model": [GPT2, GPT3, GPT4],
        "date": [gpt2["publication_date"], *runs.set_index("model").loc[[GPT3, GPT4], "publication_date"]],
        "tokens": [gpt2_tokens, *runs.set_index("model").loc[[GPT3, GPT4], "dataset_tokens"]],
    }
)
fig.add_trace(
    go.Scatter(
        x=arc["date"],
        y=arc["tokens"],
        mode="lines",
        line={"dash": "dot", "color": "grey"},
        name="GPT-2 → GPT-3 → GPT-4",
        hoverinfo="skip",
    )
)
fig.add_trace(
    go.Scatter(
        x=[gpt2["publication_date"]],
        y=[gpt2_tokens],
        mode="markers",
        marker={"symbol": "diamond-open", "size": 12, "color": "black"},
        name=f"GPT-2: 40 GB ÷ {BYTES_PER_TOKEN:g} bytes/token",
        hovertemplate=(
            f"{GPT2}<br>40 GB reported (bytes only)<br>≈ %{{y:.3g}} tokens at {BYTES_PER_TOKEN:g} bytes/token"
            "<br>converted here, not in the data or the fit<extra></extra>"
        ),
    )
)
gpt4_row = runs.set_index("model").loc[GPT4]
fig.add_annotation(
    x=gpt4_row["publication_date"],
    y=np.log10(gpt4_row["dataset_tokens"]),
    text="GPT-4 ~13T: leak, counts repeated passes",
    showarrow=True,
    arrowhead=2,
    ax=-120,
    ay=-30,
)
fig.add_annotation(
    x=gpt2["publication_date"],
    y=np.log10(gpt2_tokens),
    text="GPT-2: 40 GB → ~1e10 tokens (converted)",
    showarrow=True,
    arrowhead=2,
    ax=40,
    ay=-40,
)
fig.add_annotation(
    x=runs.set_index("model").loc[GPT3, "publication_date"],
    y=np.log10(runs.set_index("model").loc[GPT3, "dataset_tokens"]),
    text="GPT-3: 300B tokens processed",
    showarrow=True,
    arrowhead=2,
    ax=-40,
    ay=-50,
)
fig.update_layout(legend_title_text="tokens basis, reliability")
fig.show()

# %% [markdown]
# How much each step grew (GPT-2's size is the converted estimate):

# %%
arc["years_since_previous"] = arc["date"].diff().dt.days / 365.25
arc["growth_factor"] = arc["tokens"] / arc["tokens"].shift()
arc["oom_per_year"] = np.log10(arc["growth_factor"]) / arc["years_since_previous"]
display(arc.round({"years_since_previous": 2, "growth_factor": 1, "oom_per_year": 2}))

leaks = runs[has_flag(runs, "leak")][["model", "publication_date", "dataset_tokens", "flags", "notes"]]
print("Leaked figures (downweighted or excluded in the fit):")
display(leaks)

# %% [markdown]
# ## 2. Training compute over time
#
# Compute is mostly Epoch AI's estimate (from parameters × tokens or hardware × time), not a developer figure.
# The compute frontier is fitted from 2020 on (`forecast.model.frontier.COMPUTE_WINDOW_START`): frontier language
# models caught up with the overall compute frontier with GPT-3 and grew ~4–5× a year after.

# %%
with_compute = runs[runs["training_compute_flop"].notna()].copy()
with_compute["has_token_count"] = np.where(with_compute["dataset_tokens"].notna(), "yes", "no")
fig = px.scatter(
    with_compute,
    x="publication_date",
    y="training_compute_flop",
    color="has_token_count",
    log_y=True,
    hover_name="model",
    hover_data={
        "organization": True,
        "parameters": ":.3g",
        "dataset_tokens": ":.3g",
        "flags": True,
        "training_compute_flop": ":.3g",
        "publication_date": "|%Y-%m-%d",
        "has_token_count": False,
    },
    labels={
        "publication_date": "publication date",
        "training_compute_flop": "training compute (FLOP, log scale)",
        "has_token_count": "token count known",
        "dataset_tokens": "dataset tokens",
    },
    title="Training compute of recorded language models",
)
window_start = from_decimal_year(COMPUTE_WINDOW_START)
fig.add_vline(x=window_start, line_dash="dash", line_color="grey")
fig.add_annotation(x=window_start, y=1, yref="paper", text="compute fit window starts", showarrow=False, xanchor="left")
for name in (GPT2, GPT3, GPT4, "Gemini 1.0 Ultra", "Llama 3.1-405B"):
    row = runs.set_index("model").loc[name]
    fig.add_annotation(
        x=row["publication_date"], y=np.log10(row["training_compute_flop"]), text=name, ay=-25, arrowhead=1
    )
fig.show()

# %% [markdown]
# ## 3. Published estimates of the stock, side by side
#
# `stock_estimates.csv` collects published estimates of text stocks and corpus sizes; they are for comparison
# and are **not** fitted. Below, every row with a token figure: the dot is the central value (or the geometric
# midpoint of the range when the source gives only a range), the bar the published interval (its kind is in
# the hover text: 95% CI, 90% CI, range, ...). The dashed line is the largest recorded training set of 2024.

# %%
est = bundle.stock_estimates
est = est[est[["tokens_low", "tokens_central", "tokens_high"]].notna().any(axis=1)].copy()
est["tokens_point"] = est["tokens_central"].fillna(np.sqrt(est["tokens_low"] * est["tokens_high"]))
est["tokens_point"] = est["tokens_point"].fillna(est["tokens_low"]).fillna(est["tokens_high"])
est["plus"] = (est["tokens_high"] - est["tokens_point"]).fillna(0.0)
est["minus"] = (est["tokens_point"] - est["tokens_low"]).fillna(0.0)
est["label"] = est["item"].str.slice(0, 60) + " (" + est["year_of_estimate"].astype(str) + ")"
est = est.sort_values("tokens_point")
fig = px.scatter(
    est,
    x="tokens_point",
    y="label",
    color="scope",
    symbol="stock_or_flow",
    error_x="plus",
    error_x_minus="minus",
    log_x=True,
    hover_name="item",
    hover_data={
        "category": True,
        "year_of_estimate": True,
        "tokens_low": ":.3g",
        "tokens_central": ":.3g",
        "tokens_high": ":.3g",
        "interval": True,
        "source": True,
        "reliability": True,
        "label": False,
        "plus": False,
        "minus": False,
        "tokens_point": False,
    },
    labels={"tokens_point": "tokens (log scale)", "label": "", "stock_or_flow": "kind"},
    title="Published estimates of text stocks and corpora (tokens)",
    height=250 + 22 * len(est),
)
largest_2024 = runs.loc[runs["publication_date"].dt.year == 2024, "dataset_tokens"].max()
fig.add_vline(x=largest_2024, line_dash="dash", line_color="black")
fig.add_annotation(x=np.log10(largest_2024), y=1.0, yref="paper", text="largest 2024 training set", showarrow=False)
fig.update_yaxes(categoryorder="array", categoryarray=est["label"].tolist())
fig.show()

# %% [markdown]
# The rows without a token figure give their quantity in its own units (words, papers, books, TB) in
# `quantity_as_reported`; they are listed here for completeness.

# %%
no_tokens = bundle.stock_estimates[bundle.stock_estimates["tokens_central"].isna()]
no_tokens = no_tokens[no_tokens["tokens_low"].isna() & no_tokens["tokens_high"].isna()]
display(no_tokens[["category", "item", "year_of_estimate", "quantity_as_reported", "unit_reported"]])

# %% [markdown]
# ## 4. Web growth: Common Crawl and internet users
#
# Two views of how fast the supply of new text grows. Common Crawl's monthly crawls are a sample of the web
# whose size is set by Common Crawl's budget, not by the web: read them as a lower bound on activity, not as
# the stock. The share of the world population online drives stock growth in the default model
# (`stock_growth: users_model`: the stock grows with cumulative person-years online); the OWID and ITU series
# below are exactly the ones the adoption curve is fitted to (`forecast.model.frontier.ADOPTION_SERIES`).

# %%
web = bundle.web_growth
crawl = web[web["series"].isin(["commoncrawl_pages_per_crawl", "commoncrawl_new_urls_per_crawl"])].copy()
crawl["billions"] = crawl["value"] / 1e9
fig = px.line(
    crawl,
    x="date",
    y="billions",
    color="series",
    markers=True,
    hover_data={"metric": True, "value": ":.4g", "billions": False, "series": False},
    labels={"date": "crawl date", "billions": "pages / URLs per crawl (billions)", "series": ""},
    title="Common Crawl: page captures and new URLs per monthly crawl",
)
fig.show()

# %%
adoption = web[web["series"].isin(ADOPTION_SERIES)]
fig = px.line(
    adoption,
    x="date",
    y="value",
    color="series",
    markers=True,
    hover_data={"unit": True, "source": True, "reliability": True, "series": False},
    labels={"date": "date", "value": "share of world population online (%)", "series": ""},
    title="Internet users as a share of the world population (fitted by the adoption curve)",
)
fig.update_yaxes(range=[0, 100])
fig.show()

# %% [markdown]
# ## 5. How much new web text is AI-written?
#
# The `ai_share_*` series are measurements (detector-based) and one projection. Solid lines are the series
# `forecast.model.ai_share` fits by default (repeated measurements of new general web text); dotted ones are
# context only: single-date, venue-specific or "any AI text" figures, and Europol's *projection* of 90% by
# 2026, which is not a measurement. Detectors have false positives (~4%), hence the ~5% "AI" articles of 2020.

# %%
ai = web[web["series"].str.startswith("ai_share_")].copy()
ai["used_in_fit"] = ai["series"].isin(AI_SHARE_FIT_SERIES)
fig = go.Figure()
for series, rows in ai.groupby("series", sort=False):
    fitted = bool(rows["used_in_fit"].iloc[0])
    fig.add_trace(
        go.Scatter(
            x=rows["date"],
            y=rows["value"],
            mode="lines+markers",
            line={"dash": "solid" if fitted else "dot"},
            marker={"symbol": "circle" if fitted else "x", "size": 9},
            name=series + ("" if fitted else " (context)"),
            customdata=np.stack([rows["unit"], rows["reliability"], rows["source"].str.slice(0, 90)], axis=1),
            hovertemplate=(
                "%{x|%Y-%m-%d}: %{y:.1f}%<br>%{customdata[0]}<br>reliability %{customdata[1]}"
                "<br>%{customdata[2]}<extra>" + series + "</extra>"
            ),
        )
    )
release = from_decimal_year(CHATGPT_RELEASE_YEAR)
fig.add_vline(x=release, line_dash="dash", line_color="grey")
fig.add_annotation(x=release, y=1, yref="paper", text="ChatGPT release", showarrow=False, xanchor="right")
fig.update_layout(
    title="Measured share of AI-written content",
    xaxis_title="date",
    yaxis_title="share of new content (%)",
    yaxis_range=[0, 100],
    legend_title_text="series",
)
fig.show()

# %%
print(f"wall time since the setup cell: {time.perf_counter() - NOTEBOOK_STARTED:.1f} s")

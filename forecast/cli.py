"""Command-line interface (`forecast`): run, validate, scenarios, schema.

Every command goes through `_guarded`, so user errors (`InputError`) are one line on stderr with exit code 2,
unexpected errors one line with exit code 1 (traceback only with FORECAST_DEBUG=1), and Ctrl-C exits 130.
Heavy modules (data, pipeline) are imported inside the commands so `--help` and `schema` stay fast.
"""

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from forecast import __version__
from forecast.config import Config, json_schema, list_presets, load_config, one_line
from forecast.errors import ForecastError, InputError

#: Exit codes: 2 = bad input (also typer's own usage errors), 1 = bug or deliberate failure such as
#: non-convergence under --strict, 130 = interrupted (128 + SIGINT).
EXIT_INPUT_ERROR = 2
EXIT_INTERNAL_ERROR = 1
EXIT_INTERRUPTED = 130
DEBUG_ENV = "FORECAST_DEBUG"

app = typer.Typer(
    name="forecast",
    help="When will LLM training runs use up the stock of public human text? (Bayesian rebuild of "
    "Villalobos et al. 2024)",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _debug() -> bool:
    return os.environ.get(DEBUG_ENV) == "1"


def _fail(message: str, code: int) -> typer.Exit:
    """Print one line to stderr and return the exit to raise."""
    typer.echo(one_line(message), err=True)
    return typer.Exit(code)


def _guarded[**P, R](func: Callable[P, R]) -> Callable[P, R]:
    """Map exceptions to one line on stderr and an exit code, once for every command."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except InputError as exc:
            if _debug():
                traceback.print_exc()
            raise _fail(f"error: {exc}", EXIT_INPUT_ERROR) from None
        except ForecastError as exc:  # raised on purpose (e.g. no convergence with --strict): not a bug
            if _debug():
                traceback.print_exc()
            raise _fail(f"error: {exc}", EXIT_INTERNAL_ERROR) from None
        except KeyboardInterrupt:
            raise _fail("interrupted", EXIT_INTERRUPTED) from None
        except Exception as exc:
            if _debug():
                traceback.print_exc()
            raise _fail(
                f"internal error: {type(exc).__name__}: {exc} — please report this bug "
                f"(rerun with {DEBUG_ENV}=1 for the traceback)",
                EXIT_INTERNAL_ERROR,
            ) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        typer.echo(f"forecast {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """When will LLM training runs use up the stock of public human text?"""


ScenariosOpt = Annotated[
    str,
    typer.Option(
        "--scenarios",
        "-s",
        help="Preset name (see `forecast scenarios`) or path to a scenario YAML file.",
    ),
]
DataOpt = Annotated[Path, typer.Option("--data", help="Folder with the data CSV files.")]


def _progress(message: str) -> None:
    """Progress lines go to stderr so stdout stays clean for results."""
    typer.echo(message, err=True)


def _with_seed(config: Config, seed: int | None) -> Config:
    """`--seed` replaces the config's seed (the posterior cache key includes it)."""
    return config if seed is None else config.model_copy(update={"seed": seed})


@app.command()
@_guarded
def run(
    scenarios: ScenariosOpt = "default",
    data: DataOpt = Path("data"),
    out: Annotated[Path, typer.Option("--out", help="Folder for the report and result files.")] = Path("reports"),
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="Override the config's random seed.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail (exit 1) if sampling does not converge.")] = False,
    cache: Annotated[
        bool,
        typer.Option("--cache/--no-cache", help="Reuse a saved posterior when data and fit settings match."),
    ] = True,
) -> None:
    """Validate the config and data, fit the model, run every scenario and write the report."""
    config = _with_seed(load_config(scenarios), seed)  # config errors first, before heavy imports
    from forecast.pipeline import run_pipeline  # PyMC: imported only when needed

    run_pipeline(config, data_dir=data, out_dir=out, strict=strict, use_cache=cache, progress=_progress)
    typer.echo(f"done: results in {out}")


def _runs_summary(bundle: Any) -> str:
    """'N training runs, M with dataset tokens' for the OK line."""
    runs = bundle.runs
    with_tokens = int(runs["dataset_tokens"].notna().sum())
    return f"{len(runs)} training runs, {with_tokens} with dataset tokens"


@app.command()
@_guarded
def validate(scenarios: ScenariosOpt = "default", data: DataOpt = Path("data")) -> None:
    """Check the scenario config and the data files (schemas, provenance hashes) without fitting."""
    config = load_config(scenarios)  # config errors first, before heavy imports
    from forecast.data import load_bundle
    from forecast.provenance import verify

    bundle = load_bundle(data, cutoff=config.data.cutoff)
    verify(data)
    names = ", ".join(scenario.name for scenario in config.scenarios)
    typer.echo(
        f"OK: {scenarios}: {len(config.scenarios)} scenarios ({names}); "
        f"{data}: {_runs_summary(bundle)} up to {config.data.cutoff.isoformat()}"
    )


@app.command("scenarios")
@_guarded
def scenarios_command() -> None:
    """List the packaged scenario presets (use one with `--scenarios NAME`)."""
    presets = list_presets()
    width = max(len(name) for name in presets)
    for name, description in presets.items():
        typer.echo(f"{name:<{width}}  {description}")


@app.command()
@_guarded
def schema() -> None:
    """Print the JSON Schema of scenario files (for editor completion and validation)."""
    typer.echo(json.dumps(json_schema(), indent=2))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())

"""Command-line interface (`forecast`): run, watch, validate, backtest, scenarios, schema.

Every command goes through `_guarded`, so user errors (`InputError`) are one line on stderr with exit code 2,
unexpected errors one line with exit code 1 (traceback only with FORECAST_DEBUG=1), and Ctrl-C exits 130
(SIGTERM: 143, = 128 + signal number, as a shell reports it); an interrupted run leaves no partial outputs.
Heavy modules (data, pipeline) are imported inside the commands so `--help` and `schema` stay fast.
"""

import functools
import json
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from forecast import __version__
from forecast.cli.watch import CHROMIUM_IMAGES_PER_START, CHROMIUM_TABS, POLL_SECONDS
from forecast.config import Config, json_schema, list_presets, load_config, one_line, preset_names, with_cutoff
from forecast.errors import ConvergenceError, ForecastError, InputError
from forecast.run.folders import check_out_dir

if TYPE_CHECKING:
    from forecast.report.images import PngServer

#: Exit codes: 2 = bad input (also typer's own usage errors), 1 = bug or deliberate failure such as
#: non-convergence under --strict, 130 = interrupted (128 + SIGINT), 143 = terminated (128 + SIGTERM).
EXIT_INPUT_ERROR = 2
EXIT_INTERNAL_ERROR = 1
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM
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


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived while a command ran.

    Deliberately not a KeyboardInterrupt: PyMC catches KeyboardInterrupt during sampling and returns the draws so
    far, and the run would then go on with (and cache) a partial fit. Every `finally` on the way out still runs,
    so the staging folder and cache temporary files are removed.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_FORCE_QUIT_AFTER = 3  # the third signal quits at once, without cleaning up


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """While a command runs, the first SIGINT/SIGTERM raises `Interrupted`; repeats are ignored during cleanup."""
    if threading.current_thread() is not threading.main_thread():  # handlers can only be set there
        yield
        return
    owner = os.getpid()
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != owner:
            # A forked child (PyMC's chain processes inherit this handler): behave as Python would by default.
            # PyMC's worker catches KeyboardInterrupt and exits quietly; a later SIGTERM from its parent kills it.
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            raise KeyboardInterrupt
        received.append(signum)
        if len(received) == 1:
            raise Interrupted(signum)
        if len(received) >= _FORCE_QUIT_AFTER:
            os.write(2, b"interrupted again: quitting without cleaning up\n")
            os._exit(128 + received[0])

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)


class _StderrLines(logging.Handler):
    """Python's handler of last resort for `forecast` processes: log records that reach no handler (logging not
    configured) are written to the current `sys.stderr`. Normally only forecast's own warnings, one line each and
    without traceback; other libraries' records are dropped (choreographer, driving the PNG export's Chromium,
    logs a traceback when the browser closes in the middle of a message: nothing a user can act on). With
    FORECAST_DEBUG=1, every record with its traceback. PyMC prints its sampling messages through a handler of its
    own and is not affected."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _debug():
            return True
        ours = record.name == "forecast" or record.name.startswith("forecast.")
        return ours and record.levelno >= logging.WARNING

    def format(self, record: logging.LogRecord) -> str:
        if _debug():
            return logging.Formatter("%(levelname)s %(name)s: %(message)s").format(record)
        return f"{record.levelname.lower()}: {record.getMessage()}"

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")  # the stream of the moment: follows redirection
        except Exception:
            self.handleError(record)


def _configure_logging() -> None:
    """Install `_StderrLines` as `logging.lastResort` (documented hook; no logger is created or changed)."""
    if not isinstance(logging.lastResort, _StderrLines):
        logging.lastResort = _StderrLines()


def _guarded[**P, R](func: Callable[P, R]) -> Callable[P, R]:
    """Map exceptions to one line on stderr and an exit code, once for every command."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        _configure_logging()
        try:
            with _signals_interrupt():
                return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Interrupted as exc:
            raise _interrupted(exc) from None
        except KeyboardInterrupt:
            raise _fail("interrupted", EXIT_INTERRUPTED) from None
        except Exception as exc:
            behind = _interrupt_behind(exc)
            if behind is not None:
                raise _interrupted(behind) from None
            raise typer.Exit(_report_failure(exc)) from None

    return wrapper


def _interrupted(exc: Interrupted) -> typer.Exit:
    if exc.signum == signal.SIGINT:
        return _fail("interrupted", EXIT_INTERRUPTED)
    return _fail("interrupted (SIGTERM)", EXIT_TERMINATED)


def _interrupt_behind(exc: BaseException) -> Interrupted | None:
    """The `Interrupted` a library wrapped in an error of its own, or None. When the signal arrives while compiled
    code runs (PyTensor's Numba functions under PyMC's sampler), the handler's exception surfaces as a SystemError
    ("returned a result with an exception set") whose cause is ours: still an interrupt, not a bug."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, Interrupted):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _report_failure(exc: Exception) -> int:
    """Print the one line for a command's failure (its traceback too with FORECAST_DEBUG=1); its exit code."""
    if _debug():
        traceback.print_exc()
    if isinstance(exc, InputError):
        code, message = EXIT_INPUT_ERROR, f"error: {exc}"
    elif isinstance(exc, ForecastError):  # raised on purpose (e.g. no convergence with --strict): not a bug
        code, message = EXIT_INTERNAL_ERROR, f"error: {exc}"
    else:
        code = EXIT_INTERNAL_ERROR
        message = (
            f"internal error: {type(exc).__name__}: {exc} — please report this bug "
            f"(rerun with {DEBUG_ENV}=1 for the traceback)"
        )
    typer.echo(one_line(message), err=True)
    return code


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
OutOpt = Annotated[Path, typer.Option("--out", help="Folder for the report and result files.")]
SeedOpt = Annotated[int | None, typer.Option("--seed", min=0, help="Override the config's random seed.")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Fail (exit 1) if sampling does not converge.")]
AsOfOpt = Annotated[
    datetime | None,
    typer.Option(
        "--as-of",
        formats=["%Y-%m-%d"],
        help=(
            "Give the forecast the data known at this date would have produced: data.cutoff moves to it (runs, "
            "web growth and stock estimates dated up to it; a fit on them), and scenarios that start at the "
            "cut-off start there. No vintages."
        ),
    ),
]
PngOpt = Annotated[
    bool,
    typer.Option(
        "--png/--no-png",
        help="Also write figures/*.png (needs kaleido and a Chromium; changed figures take seconds to render).",
    ),
]


def _progress(message: str) -> None:
    """Progress lines go to stderr so stdout stays clean for results."""
    typer.echo(message, err=True)


def _with_seed(config: Config, seed: int | None) -> Config:
    """`--seed` replaces the config's seed (the posterior cache key includes it)."""
    return config if seed is None else config.model_copy(update={"seed": seed})


def _as_of(config: Config, as_of: datetime | None) -> Config:
    """`--as-of` moves the data cut-off back (validated again: a fixed projection start must not precede it)."""
    return config if as_of is None else with_cutoff(config, as_of.date())


@app.command()
@_guarded
def run(
    scenarios: ScenariosOpt = "default",
    data: DataOpt = Path("data"),
    out: OutOpt = Path("reports"),
    seed: SeedOpt = None,
    as_of: AsOfOpt = None,
    strict: StrictOpt = False,
    cache: Annotated[
        bool,
        typer.Option(
            "--cache/--no-cache",
            help="Reuse a saved posterior when data and fit settings match (and identical figure images).",
        ),
    ] = True,
    png: PngOpt = True,
    force: Annotated[
        bool,
        typer.Option("--force", help="Regenerate even when --out already holds the outputs of exactly these inputs."),
    ] = False,
) -> None:
    """Validate the config and data, fit the model, run every scenario and write the report."""
    check_out_dir(out)  # before any work: a run that cannot write its outputs should not fit first
    config = _as_of(_with_seed(load_config(scenarios), seed), as_of)  # config errors first, before heavy imports
    _regenerate(config, data, out, strict=strict, cache=cache, png=png, force=force)


def _regenerate(
    config: Config,
    data: Path,
    out: Path,
    strict: bool,
    cache: bool,
    png: bool,
    force: bool = False,
) -> None:
    """One run of `config` into `out` (the body of `forecast run`, and of each run of `forecast watch`), unless
    `out` is up to date."""
    inputs_key = None
    if cache and not force and data.is_dir():
        from forecast.run.freshness import inputs_hash

        inputs_key = inputs_hash(config, data, png)
        if _outputs_current(out, inputs_key, strict):
            return
    try:
        from forecast.run.pipeline import run_pipeline  # PyMC: imported only when needed

        result = run_pipeline(
            config,
            data_dir=data,
            out_dir=out,
            strict=strict,
            use_cache=cache,
            progress=_progress,
            png=png,
            inputs_key=inputs_key,
        )
    except ConvergenceError as exc:
        raise ConvergenceError(f"{exc} (--strict: nothing written, {out} left as it was)") from None
    if result is not None:  # None only from test stand-ins of the pipeline
        from forecast.report.console import run_summary

        typer.echo(run_summary(result))
    diagnostics = getattr(result, "diagnostics", None)
    if diagnostics is not None and diagnostics.problems():  # last, so it is not scrolled away by the summary
        _progress(
            f"WARNING: sampling did not converge: {'; '.join(diagnostics.problems())}; the results in {out} "
            "are not trustworthy (the report says so at the top; --strict makes this an error)"
        )
    typer.echo(f"done: results in {out}")


WATCH_HELP = (
    "Run, then run again whenever the scenario YAML or a data file changes, until Ctrl-C. One process stays loaded "
    "(PyMC, the compiled model, plotly and a Chromium for the PNGs), so a scenario edit is regenerated in about "
    "1.5 s, images included. A failed run prints its error and the watch goes on; the outputs of the last good run "
    "stay in place."
)


@app.command(help=WATCH_HELP)
@_guarded
def watch(
    scenarios: ScenariosOpt = "default",
    data: DataOpt = Path("data"),
    out: OutOpt = Path("reports"),
    seed: SeedOpt = None,
    strict: StrictOpt = False,
    png: PngOpt = True,
    poll: Annotated[
        float, typer.Option("--poll", min=0.05, max=60.0, help="Seconds between checks of the files.")
    ] = POLL_SECONDS,
) -> None:
    """`WATCH_HELP`; the files are polled (`forecast.cli.watch`)."""
    from forecast.cli.watch import Watched, wait_for_change  # looked up per call: tests replace wait_for_change

    config_file = None if scenarios in preset_names() else Path(scenarios)
    if config_file is not None and not config_file.is_file():
        load_config(scenarios)  # nothing to watch: the one-line error of `forecast run` (not found, not a preset, ...)
    if not data.is_dir():
        raise InputError(f"--data {data}: not a folder")
    check_out_dir(out)
    watched = Watched(config_file, data)
    server = _watch_png_server(png)
    try:
        while True:
            before = watched.state()
            try:
                config = _with_seed(load_config(scenarios), seed)
                _regenerate(config, data, out, strict=strict, cache=True, png=png)
            except Exception as exc:  # an interrupt (not an Exception) ends the watch instead
                _report_failure(exc)
            if server is not None and server.worn_out(CHROMIUM_IMAGES_PER_START):
                server.stop()  # Chromium failed, or has grown: a new one opens while the watch waits
                server.start()
            _progress(f"watching {watched.describe()} (Ctrl-C stops)")
            try:
                paths = wait_for_change(watched, before, poll=poll)
            except Interrupted:
                _progress("stopped watching")
                return
            _progress(f"changed: {', '.join(paths)}")
    finally:
        if server is not None:
            server.stop()


def _watch_png_server(png: bool) -> "PngServer | None":
    """The Chromium a watch keeps open for all its runs (`forecast.report.images.PngServer`), opening in the
    background from now on; None if its runs write no PNGs or PNGs cannot be made here (no kaleido, no Chromium)."""
    from forecast.report import images

    if not png or images.png_unavailable_reason() is not None:
        return None
    return images.PngServer(tabs=CHROMIUM_TABS).start()


def _outputs_current(out: Path, inputs_key: str, strict: bool) -> bool:
    """Print a note and the stored headline when `out` already holds this exact run (`forecast.run.freshness`)."""
    from forecast.run.freshness import up_to_date

    if not up_to_date(out, inputs_key, strict=strict):
        return False
    import pandas as pd

    from forecast.report.console import summary_file_lines

    try:
        headline = summary_file_lines(pd.read_csv(out / "summary.csv"))
    except (OSError, ValueError, KeyError, AttributeError, TypeError):  # edited by hand: regenerate instead
        return False
    typer.echo("\n".join(headline))
    typer.echo(
        f"up to date: {out} already holds the outputs of these inputs (same config, data, code and versions "
        "as its run.json); nothing recomputed (--force regenerates)"
    )
    return True


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
    from forecast.data.provenance import verify

    bundle = load_bundle(data, cutoff=config.data.cutoff, reuse_checks=False)  # `validate` always checks
    verify(data)
    names = ", ".join(scenario.name for scenario in config.scenarios)
    typer.echo(
        f"OK: {scenarios}: {len(config.scenarios)} scenarios ({names}); "
        f"{data}: {_runs_summary(bundle)} up to {config.data.cutoff.isoformat()}"
    )


@app.command()
@_guarded
def backtest(
    cutoff: Annotated[
        list[str],
        typer.Option(
            "--cutoff",
            help="Cut-off date YYYY-MM-DD: fit on runs published on or before it. Several (repeat the option or "
            "separate with commas) = rolling-origin backtest.",
        ),
    ],
    observed: Annotated[
        Path | None,
        typer.Option(
            "--observed",
            help="CSV of runs to score against (at least model, publication_date, dataset_tokens); default: the "
            "runs in --data published after the cut-off.",
        ),
    ] = None,
    scenarios: ScenariosOpt = "default",
    data: DataOpt = Path("data"),
    out: Annotated[Path, typer.Option("--out", help="Folder for the backtest results.")] = Path("reports/backtest"),
    cache: Annotated[
        bool,
        typer.Option("--cache/--no-cache", help="Reuse a saved posterior when data and fit settings match."),
    ] = True,
) -> None:
    """Refit at each cut-off and score its forecast of the largest dataset against the runs published later."""
    check_out_dir(out)
    config = load_config(scenarios)  # config errors first, before heavy imports
    from forecast.backtest import console_summary, parse_cutoffs, run_backtest

    dates = parse_cutoffs(cutoff)
    result = run_backtest(config, dates, data, observed=observed, out_dir=out, use_cache=cache, progress=_progress)
    typer.echo(console_summary(result))
    typer.echo(f"done: results in {out}")


@app.command()
@_guarded
def compare(
    cutoff: Annotated[
        list[str],
        typer.Option(
            "--cutoff",
            help="Cut-off dates YYYY-MM-DD of the rolling-origin backtest (repeat the option or separate with commas).",
        ),
    ],
    model: Annotated[
        list[str] | None,
        typer.Option("--model", help="Frontier models to compare (default: all of them)."),
    ] = None,
    scenarios: ScenariosOpt = "default",
    data: DataOpt = Path("data"),
    out: Annotated[Path, typer.Option("--out", help="Folder for the comparison table.")] = Path(
        "reports/model_comparison"
    ),
    cache: Annotated[
        bool,
        typer.Option("--cache/--no-cache", help="Reuse a saved posterior when data and fit settings match."),
    ] = True,
) -> None:
    """Compare the frontier models by the same rolling backtest: CRPS, coverage, log score and leave-future-out
    log density per model and cut-off (writes model_comparison.csv and .md)."""
    check_out_dir(out)
    config = load_config(scenarios)
    from forecast.backtest import parse_cutoffs
    from forecast.backtest.compare import compare_frontiers, comparison_markdown, write_comparison
    from forecast.config import FRONTIER_MODELS

    names = [m.strip() for value in (model or list(FRONTIER_MODELS)) for m in value.split(",") if m.strip()]
    unknown = [m for m in names if m not in FRONTIER_MODELS]
    if unknown:
        raise InputError(f"--model {unknown[0]}: expected one of {', '.join(FRONTIER_MODELS)}")
    table = compare_frontiers(config, parse_cutoffs(cutoff), data, names, use_cache=cache, progress=_progress)
    write_comparison(table, out)
    typer.echo(comparison_markdown(table, pooled_only=True))
    typer.echo(f"done: results in {out}")


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
